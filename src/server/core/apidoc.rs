//! What every REST operation shares, stated once for the OpenAPI document:
//! the forms of ids, `If-Match` and `Idempotency-Key` (the same rules the
//! extractors in `core::http` and `ids::validate_id` apply), and the error
//! answers each kind of operation can give, all in the `AppError` shape.
//! Handlers document their own successes and the errors peculiar to them;
//! [`finish`] adds the rest from the operation's shape, so a new handler
//! cannot forget one.

use serde_json::{json, Map, Value};

use super::http::{IDEMPOTENCY_KEY_MAX, IDEMPOTENCY_KEY_PATTERN, IF_MATCH_PATTERN};

/// Every id in a path: what `ids::validate_id` takes (server-made ids are UUIDs).
pub const ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// A refinement of one property of a component schema (of the variant
/// tagged `kind` when the schema is a `oneOf`): the input rules a domain's
/// code applies, stated where the domain states its REST types.
pub struct Rule {
    pub schema: &'static str,
    pub kind: Option<&'static str>,
    pub property: &'static str,
    pub refine: Value,
}

impl Rule {
    pub fn new(schema: &'static str, property: &'static str, refine: Value) -> Self {
        Self {
            schema,
            kind: None,
            property,
            refine,
        }
    }

    /// The whole of `schema`, replaced.
    pub fn schema(schema: &'static str, replacement: Value) -> Self {
        Self::new(schema, "", replacement)
    }

    /// `schema` takes no property it does not list.
    pub fn closed(schema: &'static str) -> Self {
        Self::new(schema, "*", json!({"additionalProperties": false}))
    }

    /// The variant of `schema` whose `kind` is `kind` is not for clients: dropped.
    pub fn drop_variant(schema: &'static str, kind: &'static str) -> Self {
        Self::variant(schema, kind, "", Value::Null)
    }

    /// A property of the variant of `schema` whose `kind` is `kind`.
    pub fn variant(
        schema: &'static str,
        kind: &'static str,
        property: &'static str,
        refine: Value,
    ) -> Self {
        Self {
            schema,
            kind: Some(kind),
            property,
            refine,
        }
    }
}

/// Whitespace as Rust's `str::trim` drops it.
const SPACE: &str = r"\t\n\x0b\x0c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Control characters (`char::is_control`).
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";

/// A name: after trimming, 1 to `max` characters and no control character.
pub fn name(max: usize) -> Value {
    let edge = format!("[^{SPACE}{CONTROL}]");
    let inner = format!("[^{CONTROL}]");
    json!({
        "pattern": format!("^[{SPACE}]*{edge}({inner}{{0,{}}}{edge})?[{SPACE}]*$", max - 2),
        "description": format!("1 to {max} characters once trimmed, no control characters."),
    })
}

/// An absolute http(s) address with a host, no spaces or control characters
/// inside, at most `max` characters (`model::content::validate_url`).
pub fn web_address(max: usize) -> Value {
    let no = format!("{SPACE}{CONTROL}");
    json!({
        "pattern": format!(
            "^[{SPACE}]*https?://([^/?#@\\[\\]{no}]*@)?[A-Za-z0-9.-]+(:[0-9]{{1,5}})?([/?#][^{no}]*)?[{SPACE}]*$"
        ),
        "maxLength": max,
        "description": "An absolute http:// or https:// address: a host name or IPv4 address, an optional port of digits.",
    })
}

/// An email address as `model::validate_email` takes it.
pub fn email() -> Value {
    json!({
        "pattern": "^[!-?A-~]+@[!-?A-~]+$",
        "maxLength": crate::model::MAX_EMAIL_BYTES,
        "description": "name@example.com: printable ASCII, no spaces, one @; stored lowercased.",
    })
}

/// A new password as `model::validate_password` takes it.
pub fn password() -> Value {
    json!({
        "minLength": crate::model::MIN_PASSWORD_CHARS,
        "maxLength": crate::model::MAX_PASSWORD_CHARS,
    })
}

/// An integer from `min` to `max`.
pub fn range(min: i64, max: i64) -> Value {
    json!({"minimum": min, "maximum": max})
}

/// Tags: at most `max` of at most `chars` characters each.
pub fn tags(max: usize, chars: usize) -> Value {
    json!({"maxItems": max, "items": {"type": "string", "maxLength": chars}})
}

/// An IANA time zone name (what `chrono_tz` knows).
pub fn timezone() -> Value {
    let names: Vec<&str> = chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name()).collect();
    json!({"enum": names})
}

/// Applies `rules`; a nullable property stays nullable.
pub fn refine(doc: &mut Value, rules: &[Rule]) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for rule in rules {
        let Some(schema) = schemas.get_mut(rule.schema) else {
            continue;
        };
        if rule.property == "*" {
            if let (Some(into), Some(from)) = (schema.as_object_mut(), rule.refine.as_object()) {
                into.extend(from.clone());
            }
            continue;
        }
        if rule.property.is_empty() {
            match rule.kind {
                None => *schema = rule.refine.clone(),
                Some(kind) => {
                    if let Some(variants) = schema["oneOf"].as_array_mut() {
                        variants
                            .retain(|v| v.pointer("/properties/kind/enum/0") != Some(&json!(kind)));
                    }
                }
            }
            continue;
        }
        let target = match rule.kind {
            None => Some(schema),
            Some(kind) => schema["oneOf"].as_array_mut().and_then(|variants| {
                variants
                    .iter_mut()
                    .find(|v| v.pointer("/properties/kind/enum/0") == Some(&json!(kind)))
            }),
        };
        let Some(property) =
            target.and_then(|t| t.pointer_mut(&format!("/properties/{}", rule.property)))
        else {
            continue;
        };
        let nullable = property["type"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("null")));
        if let (Some(into), Some(from)) = (property.as_object_mut(), rule.refine.as_object()) {
            for (k, v) in from {
                let mut v = v.clone();
                if k == "enum" && nullable {
                    if let Some(values) = v.as_array_mut() {
                        values.push(Value::Null);
                    }
                }
                into.insert(k.clone(), v);
            }
        }
    }
}

/// Every string property named `id`, `*_id` or `after` takes the id form.
fn id_properties(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                for (name, prop) in props.iter_mut() {
                    let is_id = name == "id" || name.ends_with("_id") || name == "after";
                    let string = prop["type"] == "string"
                        || prop["type"]
                            .as_array()
                            .is_some_and(|t| t.contains(&json!("string")));
                    if is_id && string {
                        prop["pattern"] = json!(ID_PATTERN);
                    }
                }
            }
            for v in map.values_mut() {
                id_properties(v);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(id_properties),
        _ => {}
    }
}

/// The finished document: each operation's shared parameters given their
/// real forms, the error answers its shape implies, ids in bodies in their
/// form, then the domains' `rules`.
pub fn finish(doc: utoipa::openapi::OpenApi, rules: &[Rule]) -> Value {
    let mut doc = serde_json::to_value(doc).unwrap_or_else(|_| json!({}));
    if let Some(schemas) = doc.pointer_mut("/components/schemas") {
        id_properties(schemas);
    }
    refine(&mut doc, rules);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            for method in METHODS {
                if let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) {
                    finish_operation(path, method, op);
                }
            }
        }
    }
    doc
}

fn finish_operation(path: &str, method: &str, op: &mut Map<String, Value>) {
    let mut has_if_match = false;
    let mut has_input_params = false;
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for param in params.iter_mut() {
            let name = param["name"]
                .as_str()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let place = param["in"].as_str().unwrap_or_default().to_string();
            match (place.as_str(), name.as_str()) {
                ("path", _) => {
                    param["schema"] = json!({"type": "string", "pattern": ID_PATTERN});
                    describe(param, "An id: 1 to 64 letters, digits, '-' or '_'.");
                }
                ("header", "if-match") => {
                    has_if_match = true;
                    has_input_params = true;
                    param["required"] = json!(true);
                    param["schema"] = json!({"type": "string", "pattern": IF_MATCH_PATTERN});
                    param["description"] = json!(
                        "The version the change is made against: the ETag from GET (\"3\"), \
                         weak (W/\"3\") or bare (3). Missing: 428. Another form: 400. \
                         Stale: 409, whose `current` is the entity as it is now."
                    );
                }
                ("header", "idempotency-key") => {
                    has_input_params = true;
                    param["schema"] = json!({
                        "type": "string",
                        "pattern": IDEMPOTENCY_KEY_PATTERN,
                        "maxLength": IDEMPOTENCY_KEY_MAX,
                    });
                    param["description"] = json!(format!(
                        "Makes the request safe to retry: the op id of the change, 1 to \
                         {IDEMPOTENCY_KEY_MAX} letters, digits, '-' or '_' (a UUID is best; \
                         another form is a 400). A request repeated with the same key on the same \
                         method and path gets the first answer and changes nothing (receipts are \
                         kept for a week); the same key on another operation is another request."
                    ));
                }
                _ => has_input_params = true,
            }
        }
    }
    let json_body = op
        .get("requestBody")
        .and_then(|b| b.get("content"))
        .and_then(Value::as_object)
        .is_some_and(|c| c.contains_key("application/json"));
    let mutating = method != "get";

    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    let mut add = |status: u16, description: &str| {
        responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(description));
    };
    if has_input_params || json_body {
        add(
            400,
            "The request could not be read: malformed JSON, or a parameter or header of the wrong form.",
        );
    }
    add(401, "No valid session or API token.");
    if mutating {
        add(
            403,
            "The role cannot make changes (viewer), or the request came from another site.",
        );
    }
    if path.contains('{') || mutating {
        // A change can also name another entity in its body, and a key reused
        // for another request answers that request's outcome.
        add(
            404,
            "Nothing with this id (or an id the body names) in the organization.",
        );
    }
    if has_if_match {
        add(
            409,
            "The entity changed since that version; `current` is what the server has now.",
        );
        add(428, "If-Match is missing.");
    }
    if mutating {
        add(
            409,
            "The current state refuses it: the id is taken, or the entity changed meanwhile.",
        );
    }
    if json_body {
        add(413, "The body is larger than 256 KiB.");
        add(415, "The body is not sent as `application/json`.");
    }
    if mutating || json_body {
        add(422, "The input broke a rule; the message says which.");
    }
}

fn describe(param: &mut Value, text: &str) {
    if param.get("description").is_none() {
        param["description"] = json!(text);
    }
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/AppError"}}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(path: &str, method: &str, op: Value) -> Value {
        let mut op = op.as_object().unwrap().clone();
        finish_operation(path, method, &mut op);
        Value::Object(op)
    }

    #[test]
    fn a_versioned_change_documents_its_preconditions() {
        let op = finished(
            "/api/v1/devices/{id}",
            "patch",
            json!({
                "parameters": [
                    {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "If-Match", "in": "header", "required": true, "schema": {"type": "string"}},
                ],
                "requestBody": {"content": {"application/json": {"schema": {}}}},
                "responses": {"200": {"description": "ok"}},
            }),
        );
        for status in [
            "200", "400", "401", "403", "404", "409", "413", "415", "422", "428",
        ] {
            assert!(op["responses"][status].is_object(), "{status}");
        }
        assert_eq!(op["parameters"][0]["schema"]["pattern"], ID_PATTERN);
        assert_eq!(op["parameters"][1]["schema"]["pattern"], IF_MATCH_PATTERN);
        assert_eq!(op["responses"]["200"]["description"], "ok");
    }

    #[test]
    fn a_plain_read_documents_only_what_it_can_answer() {
        let op = finished("/api/v1/alerts", "get", json!({"responses": {}}));
        let statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        assert_eq!(statuses, ["401"]);
    }
}
