//! A small JSON reader and writer for the wire types, without serde.
//!
//! The server speaks JSON through serde; the wasm app uses this instead,
//! because serde_json and the derived visitors cost 17.6 KB of the app's
//! brotli-compressed wasm (8 %). The reader is strict RFC 8259 (what serde_json
//! and `JSON.parse` accept, nothing more), keeps numbers as their text so no
//! float parser is linked, and refuses nesting deeper than [`MAX_DEPTH`] so a
//! hostile body cannot exhaust the stack. Tests pin it to serde_json: the same
//! inputs are accepted and refused, and every wire type reads back what the
//! server's serde derive writes.
//!
//! Serves: [`Json`] (a parsed value), [`FromJson`] (a wire type read from
//! one), [`JsonObject`] and [`ToJson`] (request bodies written as text).

use std::fmt;

/// How deep arrays and objects may nest (serde_json's default limit too).
pub const MAX_DEPTH: usize = 128;

/// A parsed JSON value. Object members keep their order; numbers keep their
/// text, read with [`Json::as_i64`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Json {
    #[default]
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Why a text is not JSON: what was wrong and the byte offset where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub what: &'static str,
    pub offset: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.what, self.offset)
    }
}

impl std::error::Error for JsonError {}

impl Json {
    /// Parses one JSON value; only whitespace may surround it.
    pub fn parse(text: &str) -> Result<Json, JsonError> {
        let mut reader = Reader { text, pos: 0 };
        let value = reader.value(0)?;
        reader.skip_space();
        if reader.pos < text.len() {
            return Err(reader.error("trailing characters"));
        }
        Ok(value)
    }

    /// The member `key` of an object (the last one, as `JSON.parse` does,
    /// when a key repeats); `None` for a missing key or a non-object.
    pub fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Object(members) => members.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// Moves the member `key` out of an object, leaving `null` in its place.
    /// A `null` member reads as missing, so optional fields accept both.
    pub fn take(&mut self, key: &str) -> Option<Json> {
        match self {
            Json::Object(members) => members
                .iter_mut()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| std::mem::take(v))
                .filter(|v| *v != Json::Null),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an integer: only a number written without fraction or
    /// exponent that fits in an `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Json::Number(text) => text.parse().ok(),
            _ => None,
        }
    }

    /// Writes the value as compact JSON text.
    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Number(text) => out.push_str(text),
            Json::String(s) => write_string(out, s),
            Json::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, key);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl Reader<'_> {
    fn error(&self, what: &'static str) -> JsonError {
        JsonError {
            what,
            offset: self.pos,
        }
    }

    /// The bytes not read yet.
    fn rest(&self) -> &[u8] {
        &self.text.as_bytes()[self.pos..]
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.rest().first().copied()
    }

    /// Consumes `b` after optional whitespace, or fails with `what`.
    fn expect(&mut self, b: u8, what: &'static str) -> Result<(), JsonError> {
        self.skip_space();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(what))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, JsonError> {
        self.skip_space();
        match self.peek() {
            None => Err(self.error("unexpected end of input")),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(Json::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => {
                for (word, value) in [
                    ("null", Json::Null),
                    ("true", Json::Bool(true)),
                    ("false", Json::Bool(false)),
                ] {
                    if self.rest().starts_with(word.as_bytes()) {
                        self.pos += word.len();
                        return Ok(value);
                    }
                }
                Err(self.error("expected a value"))
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.error("expected `,` or `]`")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_space();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.expect(b':', "expected `:`")?;
            let value = self.value(depth)?;
            members.push((key, value));
            self.skip_space();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(members));
                }
                _ => return Err(self.error("expected `,` or `}`")),
            }
        }
    }

    /// A string, the opening quote at `pos`. Runs without escapes are copied
    /// as they are: they lie between ASCII bytes, so they are whole UTF-8.
    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    out.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    let escaped = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => self.unicode_escape()?,
                        _ => return Err(self.error("invalid escape")),
                    };
                    out.push(escaped);
                    self.pos += 1;
                    run = self.pos;
                }
                Some(0..=0x1f) => return Err(self.error("control character in string")),
                Some(_) => self.pos += 1,
            }
        }
    }

    /// `\uXXXX`, with `pos` on the `u`; a surrogate must come in a pair.
    /// Leaves `pos` on the last hex digit.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let high = self.hex4()?;
        let code = match high {
            0xD800..=0xDBFF => {
                if !self.rest()[1..].starts_with(b"\\u") {
                    return Err(self.error("lone surrogate in escape"));
                }
                self.pos += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(self.error("lone surrogate in escape"));
                }
                0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(self.error("lone surrogate in escape")),
            code => code,
        };
        char::from_u32(code).ok_or_else(|| self.error("invalid escape"))
    }

    /// The four hex digits after the `u` at `pos`; leaves `pos` on the last.
    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut code = 0;
        for _ in 0..4 {
            self.pos += 1;
            let digit = self
                .peek()
                .and_then(|b| (b as char).to_digit(16))
                .ok_or_else(|| self.error("invalid \\u escape"))?;
            code = code * 16 + digit;
        }
        Ok(code)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, kept as text.
    fn number(&mut self) -> Result<Json, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.required_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.required_digits()?;
        }
        Ok(Json::Number(self.text[start..self.pos].to_owned()))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn required_digits(&mut self) -> Result<(), JsonError> {
        let start = self.pos;
        self.digits();
        if self.pos == start {
            Err(self.error("invalid number"))
        } else {
            Ok(())
        }
    }
}

/// Writes `s` as a JSON string: quotes, backslashes and control characters
/// escaped, everything else as UTF-8.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.push_str("\\u00");
                out.push(HEX[c as usize >> 4] as char);
                out.push(HEX[c as usize & 15] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A wire type read from a parsed value; `None` when the value does not have
/// the type's shape. Unknown members are ignored, as from a real Kaltura.
pub trait FromJson: Sized {
    fn from_json(value: Json) -> Option<Self>;
}

impl FromJson for Json {
    fn from_json(value: Json) -> Option<Self> {
        Some(value)
    }
}

impl FromJson for String {
    fn from_json(value: Json) -> Option<Self> {
        match value {
            Json::String(s) => Some(s),
            _ => None,
        }
    }
}

impl FromJson for i64 {
    fn from_json(value: Json) -> Option<Self> {
        value.as_i64()
    }
}

impl FromJson for bool {
    fn from_json(value: Json) -> Option<Self> {
        match value {
            Json::Bool(b) => Some(b),
            _ => None,
        }
    }
}

impl<T: FromJson> FromJson for Vec<T> {
    fn from_json(value: Json) -> Option<Self> {
        match value {
            Json::Array(items) => items.into_iter().map(T::from_json).collect(),
            _ => None,
        }
    }
}

/// Field readers for `FromJson` impls of objects.
impl Json {
    /// A required member: missing, `null` or the wrong type is `None`.
    pub fn field<T: FromJson>(&mut self, key: &str) -> Option<T> {
        self.take(key).and_then(T::from_json)
    }

    /// An optional member: missing or `null` is `Some(None)`; the wrong
    /// type is still `None`, so the whole value is refused.
    pub fn optional<T: FromJson>(&mut self, key: &str) -> Option<Option<T>> {
        match self.take(key) {
            None => Some(None),
            Some(v) => T::from_json(v).map(Some),
        }
    }

    /// A member that has a default when missing or `null`.
    pub fn or_default<T: FromJson + Default>(&mut self, key: &str) -> Option<T> {
        self.optional(key).map(Option::unwrap_or_default)
    }

    /// `Some(self)` when it is an object, so readers can start with `?`.
    pub fn object(self) -> Option<Json> {
        matches!(self, Json::Object(_)).then_some(self)
    }
}

/// The members of a JSON object, written as text in the order they are added.
#[derive(Debug, Default)]
pub struct JsonObject {
    text: String,
}

impl JsonObject {
    pub fn new() -> Self {
        Self::default()
    }

    fn key(&mut self, key: &str) {
        self.text.push(if self.text.is_empty() { '{' } else { ',' });
        write_string(&mut self.text, key);
        self.text.push(':');
    }

    pub fn string(&mut self, key: &str, value: &str) -> &mut Self {
        self.key(key);
        write_string(&mut self.text, value);
        self
    }

    pub fn int(&mut self, key: &str, value: i64) -> &mut Self {
        self.key(key);
        self.text.push_str(&value.to_string());
        self
    }

    /// Adds `key` only when there is a value, as serde's
    /// `skip_serializing_if = "Option::is_none"` does.
    pub fn opt_string(&mut self, key: &str, value: Option<&str>) -> &mut Self {
        if let Some(value) = value {
            self.string(key, value);
        }
        self
    }

    pub fn opt_int(&mut self, key: &str, value: Option<i64>) -> &mut Self {
        if let Some(value) = value {
            self.int(key, value);
        }
        self
    }

    /// Adds a nested object (Kaltura's filters and pagers travel as one).
    pub fn object(&mut self, key: &str, value: JsonObject) -> &mut Self {
        self.key(key);
        self.text.push_str(&value.finish());
        self
    }

    /// The object's text, `{}` when nothing was added.
    pub fn finish(mut self) -> String {
        if self.text.is_empty() {
            self.text.push('{');
        }
        self.text.push('}');
        self.text
    }
}

/// A request's parameters, written as members of the body object.
pub trait ToJson {
    fn to_json(&self, out: &mut JsonObject);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our value, converted to serde_json's, to compare the two readers.
    fn to_serde(v: &Json) -> serde_json::Value {
        let mut text = String::new();
        v.write(&mut text);
        serde_json::from_str(&text).unwrap()
    }

    const ACCEPTED: &[&str] = &[
        "null",
        " true ",
        "false",
        "0",
        "-0",
        "12",
        "-12.5e+3",
        "1E-2",
        "9223372036854775808",
        r#""""#,
        r#""plain""#,
        r#""esc \" \\ \/ \b \f \n \r \t""#,
        r#""\u00e9\u20AC\ud83d\ude00""#,
        "\"caf\u{e9} \u{1f600} \u{2028}\"",
        "[]",
        "[ 1 , [2, [3]] ,{}]",
        r#"{"a":1,"b":[true,null],"c":{"d":"e"}}"#,
        r#"{"dup":1,"dup":2}"#,
        "\n\t\r {\"k\" :\"v\"}\n",
    ];

    const REFUSED: &[&str] = &[
        "",
        "   ",
        "nul",
        "True",
        "01",
        "-",
        "1.",
        ".5",
        "1e",
        "+1",
        "0x10",
        "NaN",
        r#""unterminated"#,
        "\"tab\tinside\"",
        r#""\x""#,
        r#""\u12""#,
        r#""\ud800""#,
        r#""\ud800\u0041""#,
        r#""\udc00""#,
        "[1,]",
        "[1 2]",
        "{\"a\":1,}",
        "{a:1}",
        "{\"a\" 1}",
        "{\"a\":1",
        "[",
        "null null",
        "<html>502 Bad Gateway</html>",
        "\u{feff}{}",
    ];

    #[test]
    fn parse_accepts_what_serde_json_accepts_and_reads_the_same_value() {
        for text in ACCEPTED {
            let ours = Json::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            let theirs: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(to_serde(&ours), theirs, "{text:?}");
        }
    }

    #[test]
    fn parse_refuses_what_serde_json_refuses() {
        for text in REFUSED {
            assert!(Json::parse(text).is_err(), "accepted {text:?}");
            assert!(
                serde_json::from_str::<serde_json::Value>(text).is_err(),
                "serde_json accepts {text:?}"
            );
        }
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused_without_overflowing_the_stack() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(Json::parse(&ok).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(Json::parse(&deep).unwrap_err().what, "nested too deeply");
        let hostile = "{\"a\":".repeat(100_000);
        assert_eq!(Json::parse(&hostile).unwrap_err().what, "nested too deeply");
    }

    #[test]
    fn an_error_names_the_byte_where_the_text_went_wrong() {
        let e = Json::parse(r#"{"a":tru}"#).unwrap_err();
        assert_eq!(e.to_string(), "expected a value at byte 5");
    }

    #[test]
    fn as_i64_reads_integers_only() {
        let n = |t: &str| Json::parse(t).unwrap().as_i64();
        assert_eq!(n("101"), Some(101));
        assert_eq!(n("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(n("9223372036854775808"), None);
        assert_eq!(n("1.0"), None);
        assert_eq!(n("1e3"), None);
        assert_eq!(n("\"7\""), None);
    }

    #[test]
    fn get_and_take_read_the_last_of_repeated_keys_and_take_treats_null_as_missing() {
        let mut v = Json::parse(r#"{"k":1,"k":2,"n":null}"#).unwrap();
        assert_eq!(v.get("k").and_then(Json::as_i64), Some(2));
        assert_eq!(v.get("n"), Some(&Json::Null));
        assert_eq!(v.take("n"), None);
        assert_eq!(v.take("k").and_then(|k| k.as_i64()), Some(2));
        assert_eq!(v.take("missing"), None);
        assert_eq!(Json::Array(vec![]).get("k"), None);
    }

    #[test]
    fn written_strings_read_back_unchanged_through_serde_json() {
        let tricky = "q\" b\\ s/ nl\n cr\r tab\t nul\u{0} esc\u{1b} del\u{7f} \u{2028} é 😀";
        let mut text = String::new();
        write_string(&mut text, tricky);
        assert_eq!(serde_json::from_str::<String>(&text).unwrap(), tricky);
        assert_eq!(Json::parse(&text).unwrap(), Json::String(tricky.into()));
    }

    #[test]
    fn an_object_is_written_in_member_order_and_empty_as_braces() {
        let mut o = JsonObject::new();
        o.string("a", "x")
            .int("n", -5)
            .opt_string("skip", None)
            .opt_int("m", Some(7));
        assert_eq!(o.finish(), r#"{"a":"x","n":-5,"m":7}"#);
        assert_eq!(JsonObject::new().finish(), "{}");
    }

    #[test]
    fn field_readers_tell_missing_null_and_wrong_types_apart() {
        let mut v = Json::parse(r#"{"s":"x","n":null,"i":3,"wrong":5}"#).unwrap();
        assert_eq!(v.field::<String>("s"), Some("x".into()));
        assert_eq!(v.optional::<String>("n"), Some(None));
        assert_eq!(v.optional::<String>("absent"), Some(None));
        assert_eq!(v.optional::<String>("wrong"), None);
        assert_eq!(v.or_default::<i64>("i"), Some(3));
        assert_eq!(v.or_default::<i64>("absent"), Some(0));
        assert_eq!(v.field::<String>("absent"), None);
        assert_eq!(Json::Null.object(), None);
    }
}
