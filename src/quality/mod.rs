//! Quality opens work (SPEC §6, issue 24): standing per contributor and domain from the
//! task platform's quality signals (agreement with the consensus, gold items) and the
//! rejection share, over a rolling window with a confidence floor; moves between tiers
//! of project types, each a decision with its numbers, emailed and appealable; the
//! reviewer-accuracy view. The account-wide ladder stays in `work::quality`, which calls
//! [`service::demote_before_account_step`] before it suspends. See docs/quality.md.

pub mod model;
pub mod queue;
pub mod readiness;
pub mod routes;
pub mod rules;
pub mod service;
