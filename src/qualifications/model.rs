//! Rows of the qualification tables and the JSON documents stored in them (test
//! content, prerequisites, answers). Answer keys live in [`QuestionKind`] and never
//! leave the service through an applicant-facing type.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::schema::{
    project_types, qualification_tests, qualifications, test_answer_reviews, test_attempts, test_versions,
};

/// Points are stored in thousandths so partial credit stays an integer.
pub const MILLI: i64 = 1000;

crate::text_enum! {
    #[derive(PartialOrd, Ord)]
    pub enum Tier {
        Generalist = "generalist",
        Expert = "expert",
    }
}

impl Tier {
    /// An expert qualification also satisfies a generalist requirement in its domain.
    pub fn satisfies(self, required: Tier) -> bool {
        self >= required
    }
}

crate::text_enum! {
    pub enum TestStatus {
        Active = "active",
        Retired = "retired",
    }
}

crate::text_enum! {
    pub enum AttemptStatus {
        InProgress = "in_progress",
        /// Submitted (or closed at the deadline); free-text answers await a reviewer.
        Grading = "grading",
        Passed = "passed",
        Failed = "failed",
    }
}

/// What must be true before someone may start a test. A member its type does not have
/// is refused by name (`deny_unknown_fields` holds for struct variants).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Prerequisite {
    /// An active qualification in `domain` at `tier` (an expert one satisfies generalist).
    Qualification { domain: String, tier: Tier },
    /// A verified credential, e.g. kind `degree`, level `master`, domain `law`.
    Credential {
        kind: crate::credentials::model::CredentialKind,
        level: Option<crate::credentials::model::DegreeLevel>,
        domain: String,
    },
}

/// One option of a choice question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Choice {
    pub id: String,
    pub text: String,
}

/// A question and, for the service only, how it is marked. Flattened into
/// [`Question`], whose own members serde matches first: every member left over must be
/// one of this type's, or the question is refused naming it (struct variants only:
/// `deny_unknown_fields` does not hold for unit or newtype variants of a tagged enum).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum QuestionKind {
    SingleChoice {
        options: Vec<Choice>,
        correct: String,
    },
    /// Partial credit: see [`crate::qualifications::grading::score_multiple`].
    MultipleChoice {
        options: Vec<Choice>,
        correct: Vec<String>,
    },
    Numeric {
        answer: f64,
        tolerance: f64,
    },
    /// Graded by a reviewer against the rubric.
    FreeText {
        rubric: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Question {
    /// Unique within the test, e.g. `q1`.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    pub id: String,
    #[schema(min_length = 1, pattern = r"\S")]
    pub prompt: String,
    /// Whole points, 1 by default.
    #[serde(default = "one", deserialize_with = "crate::wire::whole")]
    #[schema(minimum = 1, maximum = 100)]
    pub points: i64,
    #[serde(flatten)]
    pub kind: QuestionKind,
}

fn one() -> i64 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Section {
    #[schema(min_length = 1, pattern = r"\S")]
    pub title: String,
    /// Draw this many questions at random from the section's pool for each attempt;
    /// all questions when absent.
    #[serde(default, deserialize_with = "crate::wire::whole_opt")]
    #[schema(minimum = 1)]
    pub draw: Option<usize>,
    #[schema(min_items = 1)]
    pub questions: Vec<Question>,
}

/// An applicant's answer: an option id or free text, several option ids, or a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Answer {
    Number(f64),
    Many(Vec<String>),
    Text(String),
}

pub type Answers = BTreeMap<String, Answer>;

/// Per-section result shown to the applicant: a score, never the answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SectionFeedback {
    pub title: String,
    pub points_awarded: f64,
    pub points_possible: f64,
    pub score_percent: i32,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = qualification_tests)]
pub struct TestRow {
    pub id: i64,
    pub domain: String,
    pub tier: Tier,
    pub title: String,
    pub status: TestStatus,
    pub current_version: i32,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = qualification_tests)]
pub struct NewTestRow<'a> {
    pub domain: &'a str,
    pub tier: Tier,
    pub title: &'a str,
    pub status: TestStatus,
    pub current_version: i32,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = test_versions)]
pub struct VersionRow {
    pub id: i64,
    pub test_id: i64,
    pub version: i32,
    pub time_limit_minutes: i32,
    pub pass_mark_percent: i32,
    pub attempt_limit: i32,
    pub cooldown_hours: i32,
    pub stipend_cents: Option<i64>,
    pub qualification_valid_days: Option<i32>,
    pub prerequisites: String,
    pub sections: String,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
}

impl VersionRow {
    /// The stored sections; ones that do not read (a question type the enum does not
    /// know) are an error, never a test without questions.
    pub fn sections(&self) -> crate::error::AppResult<Vec<Section>> {
        stored_json("sections of test version", self.id, &self.sections)
    }

    /// The stored prerequisites. A list that does not read (a kind the enum does not
    /// know) is an error, never an empty list: that would open the test to everyone.
    pub fn prerequisites(&self) -> crate::error::AppResult<Vec<Prerequisite>> {
        serde_json::from_str(&self.prerequisites).map_err(|e| {
            crate::error::AppError::Internal(anyhow::anyhow!(
                "unreadable prerequisites of test version {}: {e}",
                self.id
            ))
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = test_versions)]
pub struct NewVersionRow<'a> {
    pub test_id: i64,
    pub version: i32,
    pub time_limit_minutes: i32,
    pub pass_mark_percent: i32,
    pub attempt_limit: i32,
    pub cooldown_hours: i32,
    pub stipend_cents: Option<i64>,
    pub qualification_valid_days: Option<i32>,
    pub prerequisites: &'a str,
    pub sections: &'a str,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = test_attempts)]
pub struct AttemptRow {
    pub id: i64,
    pub test_id: i64,
    pub test_version_id: i64,
    pub user_id: i64,
    pub status: AttemptStatus,
    pub question_ids: String,
    pub answers: String,
    pub objective_scores: Option<String>,
    pub started_at: NaiveDateTime,
    pub deadline_at: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub graded_at: Option<NaiveDateTime>,
    pub points_awarded: Option<i64>,
    pub points_possible: Option<i64>,
    pub score_percent: Option<i32>,
    pub passed: Option<bool>,
    pub feedback: Option<String>,
    pub stipend_cents: Option<i64>,
}

impl AttemptRow {
    pub fn status(&self) -> AttemptStatus {
        self.status
    }

    // The stored lists below read as a `Result` like the sections: one that does not read
    // is a logged 500, never an attempt without questions, answers or scores.
    pub fn question_ids(&self) -> crate::error::AppResult<Vec<String>> {
        stored_json("question ids of attempt", self.id, &self.question_ids)
    }

    pub fn answers(&self) -> crate::error::AppResult<Answers> {
        stored_json("answers of attempt", self.id, &self.answers)
    }

    /// Empty until the attempt is submitted.
    pub fn objective_scores(&self) -> crate::error::AppResult<BTreeMap<String, i64>> {
        self.objective_scores
            .as_deref()
            .map_or(Ok(BTreeMap::new()), |s| stored_json("objective scores of attempt", self.id, s))
    }

    /// Empty until the attempt is graded.
    pub fn feedback(&self) -> crate::error::AppResult<Vec<SectionFeedback>> {
        self.feedback.as_deref().map_or(Ok(Vec::new()), |s| stored_json("feedback of attempt", self.id, s))
    }
}

/// A JSON column read as `T`, or a logged 500 naming the row.
fn stored_json<T: serde::de::DeserializeOwned>(what: &str, id: i64, text: &str) -> crate::error::AppResult<T> {
    serde_json::from_str(text)
        .map_err(|e| crate::error::AppError::Internal(anyhow::anyhow!("unreadable {what} {id}: {e}")))
}

#[derive(Insertable)]
#[diesel(table_name = test_attempts)]
pub struct NewAttemptRow<'a> {
    pub test_id: i64,
    pub test_version_id: i64,
    pub user_id: i64,
    pub status: AttemptStatus,
    pub question_ids: &'a str,
    pub answers: &'a str,
    pub started_at: NaiveDateTime,
    pub deadline_at: NaiveDateTime,
    pub stipend_cents: Option<i64>,
}

crate::text_enum! {
    pub enum ReviewStatus {
        Pending = "pending",
        Graded = "graded",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = test_answer_reviews)]
pub struct ReviewRow {
    pub id: i64,
    pub attempt_id: i64,
    pub question_id: String,
    pub answer_text: String,
    /// In thousandths of a point.
    pub max_points: i64,
    pub status: ReviewStatus,
    pub claimed_by: Option<i64>,
    pub claim_expires_at: Option<NaiveDateTime>,
    pub points_awarded: Option<i64>,
    pub note: Option<String>,
    pub graded_by: Option<i64>,
    pub graded_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

#[derive(Insertable)]
#[diesel(table_name = test_answer_reviews)]
pub struct NewReviewRow<'a> {
    pub attempt_id: i64,
    pub question_id: &'a str,
    pub answer_text: &'a str,
    pub max_points: i64,
    pub status: ReviewStatus,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = qualifications)]
pub struct QualificationRow {
    pub id: i64,
    pub user_id: i64,
    pub domain: String,
    pub tier: Tier,
    pub source: String,
    pub granted_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub revoke_reason: Option<String>,
}

impl QualificationRow {
    pub fn is_active(&self, now: NaiveDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

#[derive(Insertable)]
#[diesel(table_name = qualifications)]
pub struct NewQualificationRow<'a> {
    pub user_id: i64,
    pub domain: &'a str,
    pub tier: Tier,
    pub source: &'a str,
    pub granted_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
}

/// A qualification a project type requires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequiredQualification {
    #[schema(min_length = 1, pattern = r"\S")]
    pub domain: String,
    pub tier: Tier,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = project_types)]
pub struct ProjectTypeRow {
    pub id: i64,
    pub name: String,
    pub required_qualifications: String,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    /// The domain whose standing gates this project type (docs/quality.md); none: not
    /// gated by standing.
    pub standing_domain: Option<String>,
    /// `entry`, `standard` or `advanced`: the standing tier needed in that domain.
    pub required_standing: crate::quality::rules::StandingTier,
    /// The task platform reports agreement with the consensus for this project type.
    pub reports_consensus: bool,
    /// The task platform reports gold-item scores for this project type.
    pub reports_gold: bool,
}

impl ProjectTypeRow {
    /// The qualifications it requires. A stored list that does not read is an error,
    /// never an empty list: that would open the project type to everyone.
    pub fn required(&self) -> crate::error::AppResult<Vec<RequiredQualification>> {
        serde_json::from_str(&self.required_qualifications).map_err(|e| {
            crate::error::AppError::Internal(anyhow::anyhow!(
                "unreadable required qualifications of project type {}: {e}",
                self.id
            ))
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = project_types)]
pub struct NewProjectTypeRow<'a> {
    pub name: &'a str,
    pub required_qualifications: &'a str,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub standing_domain: Option<&'a str>,
    pub required_standing: crate::quality::rules::StandingTier,
    pub reports_consensus: bool,
    pub reports_gold: bool,
}

/// What a project type declares about quality (docs/quality.md).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectQuality {
    /// Defaults to the domain of the first required qualification.
    pub standing_domain: Option<String>,
    /// Defaults to `standard`.
    pub required_standing: Option<crate::quality::rules::StandingTier>,
    pub reports_consensus: bool,
    pub reports_gold: bool,
}
