//! Notices: the toasts that say what failed (and the odd confirmation).

use leptos::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Error,
    Info,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub id: u64,
    pub kind: NoticeKind,
    pub message: String,
}

/// The notices on show, newest last. In the browser each leaves by itself
/// after 10 s; the operator can dismiss it sooner.
#[derive(Clone, Copy)]
pub struct Notices {
    pub list: RwSignal<Vec<Notice>>,
    next: StoredValue<u64>,
}

impl Notices {
    pub(super) fn new() -> Self {
        Self {
            list: RwSignal::new(Vec::new()),
            next: StoredValue::new(1),
        }
    }
    pub fn push(&self, kind: NoticeKind, message: impl Into<String>) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.list.update(|l| {
            l.push(Notice {
                id,
                kind,
                message: message.into(),
            })
        });
        #[cfg(feature = "hydrate")]
        {
            let list = self.list;
            set_timeout(
                move || list.update(|l| l.retain(|n| n.id != id)),
                std::time::Duration::from_secs(10),
            );
        }
    }
    pub fn error(&self, message: impl Into<String>) {
        self.push(NoticeKind::Error, message)
    }
    pub fn info(&self, message: impl Into<String>) {
        self.push(NoticeKind::Info, message)
    }
    pub fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|n| n.id != id));
    }
}
