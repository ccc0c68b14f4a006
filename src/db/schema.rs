// The schema both backends share. Checked against the migrated databases by
// tests/schema.rs on SQLite and PostgreSQL.

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        password_hash -> Nullable<Text>,
        full_name -> Text,
        status -> Text,
        email_verified_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        status_reason -> Nullable<Text>,
        status_until -> Nullable<Timestamp>,
        work_blocked_since -> Nullable<Timestamp>,
    }
}

diesel::table! {
    user_roles (user_id, role) {
        user_id -> BigInt,
        role -> Text,
    }
}

diesel::table! {
    email_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        purpose -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        family -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_log (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_id -> Nullable<BigInt>,
        action -> Text,
        subject_type -> Text,
        subject_id -> Nullable<Text>,
        summary -> Text,
        request_id -> Nullable<Text>,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        event_key -> Text,
        recipient -> Text,
        template -> Text,
        subject -> Nullable<Text>,
        body_text -> Nullable<Text>,
        body_html -> Nullable<Text>,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        params -> Nullable<Text>,
    }
}

diesel::joinable!(user_roles -> users (user_id));
diesel::joinable!(email_tokens -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));

diesel::table! {
    auth_sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        family -> Text,
        created_at -> Timestamp,
        refreshed_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    auth_throttle (id) {
        id -> BigInt,
        scope -> Text,
        subject -> Text,
        occurred_at -> Timestamp,
    }
}

diesel::joinable!(auth_sessions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    user_roles,
    email_tokens,
    refresh_tokens,
    audit_log,
    outbox,
    auth_sessions,
    auth_throttle
);
diesel::allow_tables_to_appear_in_same_query!(user_roles, contributor_profiles);
diesel::allow_tables_to_appear_in_same_query!(auth_sessions, contributor_profiles);

diesel::table! {
    contributor_profiles (user_id) {
        user_id -> BigInt,
        legal_name -> Nullable<Text>,
        date_of_birth_enc -> Nullable<Text>,
        address_line1 -> Nullable<Text>,
        address_line2 -> Nullable<Text>,
        city -> Nullable<Text>,
        region -> Nullable<Text>,
        postal_code -> Nullable<Text>,
        country -> Nullable<Text>,
        phone -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    files (id) {
        id -> BigInt,
        owner_id -> BigInt,
        storage_key -> Text,
        sha256 -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        purpose -> Text,
        created_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    work_authorizations (id) {
        id -> BigInt,
        user_id -> BigInt,
        category -> Text,
        expires_on -> Nullable<Date>,
        residence_country -> Text,
        reverification -> Bool,
        status -> Text,
        attested_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        claimed_by -> Nullable<BigInt>,
        claim_expires_at -> Nullable<Timestamp>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        verified_at -> Nullable<Timestamp>,
        reverify_on -> Nullable<Date>,
    }
}

diesel::table! {
    work_authorization_documents (id) {
        id -> BigInt,
        work_authorization_id -> BigInt,
        list -> Text,
        document_type -> Text,
        number_enc -> Nullable<Text>,
        expires_on -> Nullable<Date>,
        file_id -> BigInt,
        created_at -> Timestamp,
        purged_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    decisions (id) {
        id -> BigInt,
        user_id -> BigInt,
        subject_type -> Text,
        subject_id -> Text,
        outcome -> Text,
        reason_code -> Text,
        note -> Text,
        decided_by -> Nullable<BigInt>,
        decided_at -> Timestamp,
    }
}

diesel::joinable!(contributor_profiles -> users (user_id));
diesel::joinable!(files -> users (owner_id));
diesel::joinable!(work_authorization_documents -> work_authorizations (work_authorization_id));
diesel::joinable!(work_authorization_documents -> files (file_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    contributor_profiles,
    files,
    work_authorizations,
    work_authorization_documents,
    decisions,
);

diesel::table! {
    credentials (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        level -> Nullable<Text>,
        domain -> Text,
        title -> Text,
        issuer -> Text,
        issued_on -> Nullable<Date>,
        expires_on -> Nullable<Date>,
        file_id -> BigInt,
        status -> Text,
        flagged -> Bool,
        flag_reason -> Nullable<Text>,
        replaces_id -> Nullable<BigInt>,
        submitted_at -> Timestamp,
        claimed_by -> Nullable<BigInt>,
        claim_expires_at -> Nullable<Timestamp>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        reason_code -> Nullable<Text>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    removal_proposals (id) {
        id -> BigInt,
        user_id -> BigInt,
        credential_id -> Nullable<BigInt>,
        reason_code -> Text,
        note -> Text,
        status -> Text,
        proposed_by -> BigInt,
        proposed_at -> Timestamp,
        confirmed_by -> Nullable<BigInt>,
        confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    credential_rules (id) {
        id -> BigInt,
        kind -> Text,
        level -> Nullable<Text>,
        domain -> Text,
        grants_domain -> Text,
        grants_tier -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::joinable!(credentials -> files (file_id));

diesel::allow_tables_to_appear_in_same_query!(credentials, removal_proposals, users);
diesel::allow_tables_to_appear_in_same_query!(credentials, files);

diesel::table! {
    qualification_tests (id) {
        id -> BigInt,
        domain -> Text,
        tier -> Text,
        title -> Text,
        status -> Text,
        current_version -> Integer,
        created_by -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    test_versions (id) {
        id -> BigInt,
        test_id -> BigInt,
        version -> Integer,
        time_limit_minutes -> Integer,
        pass_mark_percent -> Integer,
        attempt_limit -> Integer,
        cooldown_hours -> Integer,
        stipend_cents -> Nullable<BigInt>,
        qualification_valid_days -> Nullable<Integer>,
        prerequisites -> Text,
        sections -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    test_attempts (id) {
        id -> BigInt,
        test_id -> BigInt,
        test_version_id -> BigInt,
        user_id -> BigInt,
        status -> Text,
        question_ids -> Text,
        answers -> Text,
        objective_scores -> Nullable<Text>,
        started_at -> Timestamp,
        deadline_at -> Timestamp,
        submitted_at -> Nullable<Timestamp>,
        graded_at -> Nullable<Timestamp>,
        points_awarded -> Nullable<BigInt>,
        points_possible -> Nullable<BigInt>,
        score_percent -> Nullable<Integer>,
        passed -> Nullable<Bool>,
        feedback -> Nullable<Text>,
        stipend_cents -> Nullable<BigInt>,
    }
}

diesel::table! {
    test_answer_reviews (id) {
        id -> BigInt,
        attempt_id -> BigInt,
        question_id -> Text,
        answer_text -> Text,
        max_points -> BigInt,
        status -> Text,
        claimed_by -> Nullable<BigInt>,
        claim_expires_at -> Nullable<Timestamp>,
        points_awarded -> Nullable<BigInt>,
        note -> Nullable<Text>,
        graded_by -> Nullable<BigInt>,
        graded_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    qualifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        domain -> Text,
        tier -> Text,
        source -> Text,
        granted_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        revoke_reason -> Nullable<Text>,
    }
}

diesel::table! {
    project_types (id) {
        id -> BigInt,
        name -> Text,
        required_qualifications -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        standing_domain -> Nullable<Text>,
        required_standing -> Text,
        reports_consensus -> Bool,
        reports_gold -> Bool,
    }
}

diesel::joinable!(test_versions -> qualification_tests (test_id));
diesel::joinable!(test_attempts -> test_versions (test_version_id));
diesel::joinable!(test_answer_reviews -> test_attempts (attempt_id));
diesel::joinable!(qualifications -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    qualification_tests,
    test_versions,
    test_attempts,
    test_answer_reviews,
    qualifications,
    project_types
);

diesel::table! {
    tax_profiles (id) {
        id -> BigInt,
        user_id -> BigInt,
        version -> Integer,
        legal_name -> Text,
        business_name -> Nullable<Text>,
        tax_classification -> Text,
        address_line1 -> Text,
        address_line2 -> Nullable<Text>,
        city -> Text,
        region -> Text,
        postal_code -> Text,
        tin_type -> Text,
        tin_enc -> Text,
        tin_last4 -> Text,
        subject_to_backup_withholding -> Bool,
        signature_name -> Text,
        signed_at -> Timestamp,
        signed_ip -> Nullable<Text>,
        created_at -> Timestamp,
        exempt_payee_code -> Nullable<Text>,
    }
}

diesel::table! {
    b_notices (id) {
        id -> BigInt,
        user_id -> BigInt,
        notice -> Text,
        received_on -> Date,
        note -> Text,
        recorded_by -> BigInt,
        recorded_at -> Timestamp,
        cleared_at -> Nullable<Timestamp>,
        cleared_by -> Nullable<BigInt>,
        cleared_reason -> Nullable<Text>,
    }
}

diesel::table! {
    tax_thresholds (payment_year) {
        payment_year -> BigInt,
        threshold_cents -> BigInt,
        source -> Text,
    }
}

diesel::table! {
    payout_rails (rail) {
        rail -> Text,
        reported_by_rail -> Bool,
        reporting_note -> Text,
    }
}

diesel::table! {
    tax_parameters (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::allow_tables_to_appear_in_same_query!(tax_profiles, b_notices, users);

diesel::table! {
    work_records (id) {
        id -> BigInt,
        contributor_id -> BigInt,
        project_type_id -> BigInt,
        task_ref -> Text,
        unit_kind -> Text,
        quantity -> Text,
        rate -> Text,
        pay_cents -> BigInt,
        completed_at -> Timestamp,
        ingested_at -> Timestamp,
        ingested_by -> BigInt,
        status -> Text,
        review_due_at -> Timestamp,
        claimed_by -> Nullable<BigInt>,
        claim_expires_at -> Nullable<Timestamp>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        decision_source -> Nullable<Text>,
        reason_code -> Nullable<Text>,
        note -> Nullable<Text>,
        snapshot_ref -> Nullable<Text>,
        appeal_deadline -> Nullable<Timestamp>,
        approved_at -> Nullable<Timestamp>,
        hold_until -> Nullable<Timestamp>,
        released_at -> Nullable<Timestamp>,
        consensus_agreement_percent -> Nullable<Integer>,
        gold_score_percent -> Nullable<Integer>,
    }
}

diesel::table! {
    work_appeals (id) {
        id -> BigInt,
        work_record_id -> BigInt,
        contributor_id -> BigInt,
        rejected_by -> Nullable<BigInt>,
        message -> Text,
        status -> Text,
        created_at -> Timestamp,
        claimed_by -> Nullable<BigInt>,
        claim_expires_at -> Nullable<Timestamp>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        reason_code -> Nullable<Text>,
        note -> Nullable<Text>,
    }
}

diesel::table! {
    quality_standings (user_id) {
        user_id -> BigInt,
        level -> Text,
        rejection_share_percent -> Integer,
        decided_count -> Integer,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    domain_standings (user_id, domain) {
        user_id -> BigInt,
        domain -> Text,
        tier -> Text,
        tier_since -> Nullable<Timestamp>,
        agreement_count -> Integer,
        agreement_points -> BigInt,
        gold_count -> Integer,
        gold_points -> BigInt,
        decided_count -> Integer,
        rejected_count -> Integer,
        computed_at -> Timestamp,
    }
}

diesel::table! {
    standing_moves (id) {
        id -> BigInt,
        user_id -> BigInt,
        domain -> Text,
        direction -> Text,
        from_tier -> Text,
        to_tier -> Text,
        reason_code -> Text,
        figures -> Text,
        note -> Text,
        status -> Text,
        proposed_at -> Timestamp,
        reviewed_by -> Nullable<BigInt>,
        reviewed_at -> Nullable<Timestamp>,
        review_note -> Nullable<Text>,
        effective_at -> Nullable<Timestamp>,
        appeal_deadline -> Nullable<Timestamp>,
        appeal_message -> Nullable<Text>,
        appealed_at -> Nullable<Timestamp>,
        claimed_by -> Nullable<BigInt>,
        claim_expires_at -> Nullable<Timestamp>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        decision_reason_code -> Nullable<Text>,
        decision_note -> Nullable<Text>,
    }
}

diesel::table! {
    ledger_accounts (id) {
        id -> BigInt,
        code -> Text,
        owner_id -> Nullable<BigInt>,
        kind -> Text,
        currency -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    ledger_transactions (id) {
        id -> BigInt,
        kind -> Text,
        reference -> Text,
        memo -> Text,
        contributor_id -> Nullable<BigInt>,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        sealed -> Bool,
    }
}

diesel::table! {
    ledger_entries (id) {
        id -> BigInt,
        transaction_id -> BigInt,
        account_id -> BigInt,
        amount_cents -> BigInt,
    }
}

diesel::table! {
    ledger_adjustments (id) {
        id -> BigInt,
        contributor_id -> BigInt,
        kind -> Text,
        amount_cents -> BigInt,
        reason -> Text,
        status -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        approved_by -> Nullable<BigInt>,
        approved_at -> Nullable<Timestamp>,
        transaction_id -> Nullable<BigInt>,
        idempotency_key -> Nullable<Text>,
        request_hash -> Nullable<Text>,
    }
}

diesel::joinable!(work_appeals -> work_records (work_record_id));
diesel::joinable!(ledger_entries -> ledger_transactions (transaction_id));
diesel::joinable!(ledger_entries -> ledger_accounts (account_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    work_records,
    work_appeals,
    quality_standings,
    ledger_accounts,
    ledger_transactions,
    ledger_entries,
    ledger_adjustments,
    domain_standings,
    standing_moves
);
diesel::allow_tables_to_appear_in_same_query!(work_records, project_types);
diesel::allow_tables_to_appear_in_same_query!(domain_standings, project_types);
diesel::allow_tables_to_appear_in_same_query!(standing_moves, project_types);

diesel::table! {
    payout_methods (id) {
        id -> BigInt,
        user_id -> BigInt,
        rail -> Text,
        status -> Text,
        status_reason -> Nullable<Text>,
        details_enc -> Text,
        masked -> Text,
        usable_from -> Timestamp,
        created_at -> Timestamp,
        replaced_at -> Nullable<Timestamp>,
        destination_kind -> Text,
    }
}

diesel::table! {
    payout_batches (id) {
        id -> BigInt,
        status -> Text,
        idempotency_key -> Text,
        request_hash -> Text,
        note -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        approved_by -> Nullable<BigInt>,
        approved_at -> Nullable<Timestamp>,
        exported_at -> Nullable<Timestamp>,
        settled_at -> Nullable<Timestamp>,
        cancelled_by -> Nullable<BigInt>,
        cancelled_at -> Nullable<Timestamp>,
        item_count -> BigInt,
        gross_cents -> BigInt,
        withheld_cents -> BigInt,
        net_cents -> BigInt,
        sender_batch_id -> Text,
    }
}

diesel::table! {
    payout_items (id) {
        id -> BigInt,
        batch_id -> BigInt,
        contributor_id -> BigInt,
        method_id -> BigInt,
        rail -> Text,
        gross_cents -> BigInt,
        withheld_cents -> BigInt,
        net_cents -> BigInt,
        status -> Text,
        rail_reference -> Nullable<Text>,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
        settled_at -> Nullable<Timestamp>,
        rail_position -> BigInt,
        return_code -> Nullable<Text>,
        returned_at -> Nullable<Timestamp>,
        covers_from_cents -> Nullable<BigInt>,
        covers_to_cents -> Nullable<BigInt>,
        paid_on -> Nullable<Date>,
        destination_kind -> Text,
        kind_position -> BigInt,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
        updated_by -> Nullable<BigInt>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    payout_exports (id) {
        id -> BigInt,
        batch_id -> BigInt,
        format -> Text,
        part -> Integer,
        sha256 -> Text,
        byte_count -> BigInt,
        item_count -> BigInt,
        exported_by -> BigInt,
        exported_at -> Timestamp,
    }
}

diesel::table! {
    payout_change_notices (id) {
        id -> BigInt,
        item_id -> BigInt,
        change_code -> Text,
        corrected_enc -> Text,
        outcome -> Text,
        method_id -> BigInt,
        new_method_id -> Nullable<BigInt>,
        recorded_by -> BigInt,
        recorded_at -> Timestamp,
    }
}

diesel::joinable!(payout_items -> payout_batches (batch_id));
diesel::joinable!(payout_items -> payout_methods (method_id));
diesel::joinable!(payout_exports -> payout_batches (batch_id));
diesel::joinable!(payout_change_notices -> payout_items (item_id));
diesel::joinable!(payout_items -> users (contributor_id));

diesel::table! {
    payout_releases (id) {
        id -> BigInt,
        contributor_id -> BigInt,
        note -> Text,
        status -> Text,
        requested_by -> BigInt,
        requested_at -> Timestamp,
        approved_by -> Nullable<BigInt>,
        approved_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    payout_methods,
    payout_batches,
    payout_items,
    payout_exports,
    payout_change_notices,
    payout_releases
);

diesel::table! {
    tax_forms (id) {
        id -> BigInt,
        user_id -> BigInt,
        tax_year -> BigInt,
        version -> Integer,
        corrected -> Bool,
        reportable_cents -> BigInt,
        excluded_cents -> BigInt,
        federal_withheld_cents -> BigInt,
        state -> Nullable<Text>,
        tax_profile_id -> Nullable<BigInt>,
        issued_at -> Timestamp,
        issued_by -> Nullable<BigInt>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(tax_forms, tax_profiles);

diesel::table! {
    console_sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        token_hash -> Text,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(console_sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(console_sessions, users);

diesel::table! {
    job_runs (name) {
        name -> Text,
        next_due_at -> Timestamp,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        last_started_at -> Nullable<Timestamp>,
        last_finished_at -> Nullable<Timestamp>,
        last_outcome -> Nullable<Text>,
        last_error -> Nullable<Text>,
        runs -> BigInt,
    }
}
diesel::allow_tables_to_appear_in_same_query!(console_sessions, user_roles);
