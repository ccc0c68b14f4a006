DROP TABLE tax_forms;
