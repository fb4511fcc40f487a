//! SQL built as filters are added: each bound value gets the next `$n`.

use crate::error::AppError;

pub use crate::server::core::db::{marks, ROWS_PER_STATEMENT};

/// A bound value of a query being built.
pub enum Bind {
    Text(String),
    Int(i64),
}

/// SQL with `$n` marks added as values are bound.
pub struct Sql {
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            binds: Vec::new(),
        }
    }
    pub fn mark(&mut self, b: Bind) -> String {
        self.binds.push(b);
        format!("${}", self.binds.len())
    }
    pub fn text(&mut self, s: &str) -> String {
        self.mark(Bind::Text(s.to_string()))
    }
    pub fn int(&mut self, v: i64) -> String {
        self.mark(Bind::Int(v))
    }
    pub fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }
    pub async fn fetch(
        self,
        conn: &mut sqlx::AnyConnection,
    ) -> Result<Vec<sqlx::any::AnyRow>, AppError> {
        let mut q = sqlx::query(&self.text);
        for b in self.binds {
            q = match b {
                Bind::Text(s) => q.bind(s),
                Bind::Int(v) => q.bind(v),
            };
        }
        Ok(q.fetch_all(conn).await?)
    }
}
