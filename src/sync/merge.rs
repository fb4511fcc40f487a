//! What to do when the server answers an op with a conflict (the entity moved on
//! since the op was made). The op's own fields are compared three ways: the
//! entity as the op saw it (`base`), as the server has it now (`current`), and
//! the value the op sets (`mine`). A field collides only if someone else changed
//! it *and* to something other than what this op sets; fields the operator did
//! not touch, or that others did not touch, merge by themselves.
//!
//! Works on JSON, so every kind of entity uses the same rule.

use serde_json::Value;

/// The fields of `patch` that collide with what others changed between `base`
/// and `current`. Empty means the op can simply be resubmitted on `current`.
pub fn colliding_fields(base: &Value, current: &Value, patch: &Value) -> Vec<String> {
    let Some(fields) = patch.as_object() else {
        return Vec::new();
    };
    fields
        .iter()
        .filter(|(field, mine)| {
            let before = base.get(field.as_str()).unwrap_or(&Value::Null);
            let now = current.get(field.as_str()).unwrap_or(&Value::Null);
            before != now && *mine != now
        })
        .map(|(field, _)| field.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({"name": "Lobby", "group_id": "g1", "tags": ["4k"], "timezone": "UTC", "version": 1})
    }

    #[test]
    fn disjoint_fields_merge() {
        let current = json!({"name": "Renamed by Bob", "group_id": "g1", "tags": ["4k"], "timezone": "UTC", "version": 2});
        let mine = json!({"tags": ["4k", "portrait"]});
        assert!(colliding_fields(&base(), &current, &mine).is_empty());
    }

    #[test]
    fn the_same_field_changed_on_both_sides_collides() {
        let current = json!({"name": "Bob's name", "group_id": "g1", "tags": ["4k"], "timezone": "UTC", "version": 2});
        let mine = json!({"name": "Alice's name", "tags": ["x"]});
        assert_eq!(colliding_fields(&base(), &current, &mine), vec!["name"]);
    }

    #[test]
    fn both_sides_setting_the_same_value_is_no_conflict() {
        let current = json!({"name": "Same", "group_id": "g1", "tags": ["4k"], "timezone": "UTC", "version": 2});
        assert!(colliding_fields(&base(), &current, &json!({"name": "Same"})).is_empty());
    }

    #[test]
    fn clearing_a_field_someone_else_changed_collides() {
        let current = json!({"name": "Lobby", "group_id": "g2", "tags": ["4k"], "timezone": "UTC", "version": 2});
        assert_eq!(
            colliding_fields(&base(), &current, &json!({"group_id": null})),
            vec!["group_id"]
        );
    }
}
