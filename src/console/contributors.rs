//! A contributor as staff see them in the console: their standing per domain, the
//! account-wide ladder and their standing moves (the same reads as
//! `GET /contributors/{id}/standing`).

use actix_web::web;
use askama::Template;

use super::guard::{Console, PageResult};
use super::layout::{render, when, Layout};
use crate::auth::roles::AnyStaff;
use crate::quality::service::Thresholds;
use crate::AppState;

struct DomainLine {
    domain: String,
    tier: &'static str,
    gold: String,
    agreement: String,
    rejected: String,
    enough: &'static str,
    locked: String,
    next: String,
}

struct MoveLine {
    id: i64,
    domain: String,
    direction: String,
    from_tier: String,
    to_tier: String,
    reason: String,
    status: String,
    proposed: String,
    note: String,
}

#[derive(Template)]
#[template(path = "console/contributor.html")]
struct ContributorPage {
    layout: Layout,
    person: String,
    person_id: i64,
    status: String,
    ladder: &'static str,
    domains: Vec<DomainLine>,
    thresholds: Thresholds,
    moves: Vec<MoveLine>,
}

fn percent(p: Option<i32>, count: i64) -> String {
    p.map_or_else(|| "—".to_string(), |p| format!("{p} % of {count}"))
}

pub async fn page(st: web::Data<AppState>, user: Console<AnyStaff>, id: web::Path<i64>) -> PageResult {
    let id = id.into_inner();
    let state = st.clone();
    let (person, standing, ladder) = crate::blocking(move || {
        let person = state.db.read_sync(|c| crate::auth::service::find_user(c, id))?;
        let standing = crate::quality::service::standing_of(&state, id)?;
        let ladder = crate::work::service::quality_of(&state, id)?;
        Ok((person, standing, ladder))
    })
    .await?;
    let domains = standing
        .domains
        .into_iter()
        .map(|d| DomainLine {
            tier: d.tier.as_str(),
            gold: percent(d.gold_accuracy_percent, d.figures.gold_count),
            agreement: percent(d.consensus_agreement_percent, d.figures.agreement_count),
            rejected: percent(d.rejection_share_percent, d.figures.decided_count),
            enough: if d.enough_items { "yes" } else { "no" },
            locked: d.locked_project_types.iter().map(|p| p.name.clone()).collect::<Vec<_>>().join(", "),
            next: d.next_steps.join(" "),
            domain: d.domain,
        })
        .collect();
    let moves = standing
        .history
        .into_iter()
        .map(|m| MoveLine {
            proposed: when(&m.proposed_at),
            reason: m.reason_code.as_str().replace('_', " "),
            id: m.id,
            domain: m.domain,
            direction: m.direction.to_string(),
            from_tier: m.from_tier.to_string(),
            to_tier: m.to_tier.to_string(),
            status: m.status.to_string(),
            note: m.note,
        })
        .collect();
    render(&ContributorPage {
        layout: Layout::new(&user, "contributors", None),
        person: person.full_name,
        person_id: id,
        status: person.status.to_string(),
        ladder: ladder.level.as_str(),
        domains,
        thresholds: Thresholds::of(&st.config.work.standing),
        moves,
    })
}
