//! A JSON reader for the webhook's hot path: it walks the text once, hands over the values a
//! caller asks for (borrowed unless they hold escapes) and steps over the rest, checking
//! that what it steps over is JSON without building anything from it.
//!
//! It answers `None` at anything it does not expect, and never answers differently from
//! `serde_json`: the caller then reads the text with `serde_json`, which gives the verdict
//! and the error message. Being stricter than `serde_json` is allowed (it only costs speed);
//! accepting what `serde_json` refuses, or reading a value differently, is not. Property tests
//! and the `admission_review` fuzz target hold the webhook's answers on both readers equal.

use std::borrow::Cow;

/// Nesting beyond which the scanner gives up (`serde_json` refuses beyond 128).
const MAX_DEPTH: u32 = 100;

/// A cursor over JSON text.
pub struct Scanner<'a> {
    text: &'a str,
    at: usize,
    depth: u32,
}

/// Which fields of an object were read already: JSON may repeat a key, and a typed reader
/// refuses a repeated field, so the scanner gives way when it meets one.
#[derive(Default)]
pub struct Seen(u32);

impl Seen {
    /// `Some` the first time field number `field` (below 32) is met.
    fn first(&mut self, field: u32) -> Option<()> {
        let bit = 1u32.checked_shl(field)?;
        (self.0 & bit == 0).then(|| self.0 |= bit)
    }

    /// Stores field number `field`'s value the first time the field is met; `None` (give
    /// way) when it was met before or its value could not be read.
    pub fn set<T>(&mut self, field: u32, slot: &mut T, value: Option<T>) -> Option<()> {
        self.first(field)?;
        *slot = value?;
        Some(())
    }
}

/// The brackets open while skipping, innermost last (`true` for an object): the first 64 in
/// a word, deeper ones in a list, so that the usual shallow value costs no allocation.
#[derive(Default)]
struct Nesting {
    shallow: u64,
    depth: usize,
    deeper: Vec<bool>,
}

impl Nesting {
    fn push(&mut self, object: bool) {
        if self.depth < 64 {
            let bit = 1u64 << self.depth;
            self.shallow = if object {
                self.shallow | bit
            } else {
                self.shallow & !bit
            };
        } else {
            self.deeper.push(object);
        }
        self.depth += 1;
    }

    fn last(&self) -> Option<bool> {
        match self.depth {
            0 => None,
            1..=64 => Some(self.shallow & (1u64 << (self.depth - 1)) != 0),
            _ => self.deeper.last().copied(),
        }
    }

    fn pop(&mut self) {
        if self.depth > 64 {
            self.deeper.pop();
        }
        self.depth = self.depth.saturating_sub(1);
    }
}

const ONES: u64 = u64::MAX / 255;
const HIGHS: u64 = ONES << 7;

/// Where in the eight bytes (read little-endian) the first one that ends or interrupts a
/// string's plain run is: a quote, a backslash or a control character. The tests may flag
/// bytes after a true match too, never before one, so the lowest flag is exact.
fn first_special_byte(word: u64) -> Option<usize> {
    // Each test sets the high bit of a byte below the bound (zero, or 0x20); the high bits
    // are kept once, for the three together.
    let below = |v: u64, bound: u64| v.wrapping_sub(ONES * bound) & !v;
    let quote = below(word ^ (ONES * u64::from(b'"')), 1);
    let backslash = below(word ^ (ONES * u64::from(b'\\')), 1);
    let control = below(word, 0x20);
    let flags = (quote | backslash | control) & HIGHS;
    (flags != 0).then(|| flags.trailing_zeros() as usize / 8)
}

/// How many bytes at the start of `bytes` may stand in a JSON string as they are: up to the
/// first quote, backslash or control character.
pub fn plain_prefix(bytes: &[u8]) -> usize {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0; 8];
        word.copy_from_slice(chunk);
        if let Some(offset) = first_special_byte(u64::from_le_bytes(word)) {
            return at + offset;
        }
        at += 8;
    }
    at + bytes[at..]
        .iter()
        .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        .unwrap_or(bytes.len() - at)
}

/// What escapes a string holds: none; only escapes serde_json reads without question (a
/// two-character escape, or a `\u` escape outside the surrogates); or others (surrogates,
/// which must pair, or an escape that is no escape), which are for serde_json to judge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Escapes {
    None,
    Plain,
    Other,
}

/// The escape starting at the backslash at `at`: how many bytes it takes and what it is.
/// An escape that is not plain is stepped over by its backslash and the byte after it, so
/// that `\"` does not end the string; serde_json judges it when the string is read or
/// stepped over. Out of line: escapes are rare, and the string loops stay small.
#[cold]
#[inline(never)]
fn escape_at(bytes: &[u8], at: usize) -> (usize, Escapes) {
    let plain = match bytes.get(at + 1) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Some(2),
        Some(b'u') => bytes
            .get(at + 2..at + 6)
            .and_then(|hex| {
                hex.iter().try_fold(0u32, |code, &digit| {
                    char::from(digit).to_digit(16).map(|d| code * 16 + d)
                })
            })
            .filter(|code| !(0xD800..=0xDFFF).contains(code))
            .map(|_| 6),
        _ => None,
    };
    match plain {
        Some(length) => (length, Escapes::Plain),
        None => (2, Escapes::Other),
    }
}

impl<'a> Scanner<'a> {
    /// A scanner at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Self {
            text,
            at: 0,
            depth: 0,
        }
    }

    /// The next byte after any whitespace, not consumed. Inlined at every step of the
    /// reader, so only the usual case is: the next byte is no whitespace (the API server sends
    /// compact JSON, and every JSON whitespace byte is at or below the space). Whitespace is
    /// stepped over out of line, so that the loop is not copied into every caller: the reader's
    /// code, not its instruction count, is what costs most under load.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        match self.text.as_bytes().get(self.at) {
            Some(&byte) if byte > b' ' => Some(byte),
            _ => self.peek_past_whitespace(),
        }
    }

    #[inline(never)]
    fn peek_past_whitespace(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(&byte) = bytes.get(self.at) {
            if !matches!(byte, b' ' | b'\n' | b'\r' | b'\t') {
                return Some(byte);
            }
            self.at += 1;
        }
        None
    }

    #[inline]
    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.peek().is_none()
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        self.peek()?;
        self.text.as_bytes()[self.at..]
            .starts_with(word.as_bytes())
            .then(|| self.at += word.len())
    }

    /// Consumes a `null` if one is next.
    fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.literal("null").is_some()
    }

    /// `null` as `None`, anything else read by `read`.
    pub fn optional<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.null() {
            Some(None)
        } else {
            read(self).map(Some)
        }
    }

    /// A `true` or `false`.
    pub fn boolean(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.literal("true").map(|()| true),
            b'f' => self.literal("false").map(|()| false),
            _ => None,
        }
    }

    /// A string, borrowed from the text unless it holds escapes.
    pub fn string(&mut self) -> Option<Cow<'a, str>> {
        let (start, end, escapes) = self.string_span()?;
        if escapes != Escapes::None {
            self.unescaped(start, end).map(Cow::Owned)
        } else {
            Some(Cow::Borrowed(&self.text[start..end]))
        }
    }

    /// Steps over a string: where its content starts and ends, and what escapes it holds.
    #[inline]
    fn string_span(&mut self) -> Option<(usize, usize, Escapes)> {
        self.expect(b'"')?;
        let start = self.at;
        let (end, escapes) = self.string_end()?;
        Some((start, end, escapes))
    }

    /// The content between `start` and `end` with its escapes undone. Rare (Go escapes `<`,
    /// `>` and `&`; kubectl's last-applied annotation is JSON in a string): serde_json does
    /// it and refuses bad escapes, lone surrogates included.
    fn unescaped(&self, start: usize, end: usize) -> Option<String> {
        serde_json::from_str(&self.text[start - 1..=end]).ok()
    }

    /// From just past a string's opening quote: the index of its closing quote and what
    /// escapes came before it; the cursor is left past the quote. `None` at a control
    /// character or the end of the text.
    #[inline(always)]
    fn string_end(&mut self) -> Option<(usize, Escapes)> {
        let bytes = self.text.as_bytes();
        let at = self.at + plain_prefix(bytes.get(self.at..)?);
        if *bytes.get(at)? == b'"' {
            self.at = at + 1;
            return Some((at, Escapes::None));
        }
        self.escaped_string_end(at)
    }

    /// [`Scanner::string_end`] from `at`, where the string's plain run ends short of its
    /// closing quote. Out of line: most strings have no escapes, and the loop with its call
    /// would otherwise weigh on every caller.
    #[inline(never)]
    fn escaped_string_end(&mut self, mut at: usize) -> Option<(usize, Escapes)> {
        let bytes = self.text.as_bytes();
        let mut escapes = Escapes::None;
        // `at` is where the plain run stopped: the byte there is judged first.
        loop {
            match *bytes.get(at)? {
                b'"' => {
                    self.at = at + 1;
                    return Some((at, escapes));
                }
                // Judged as it is passed, so that a string stepped over is read once.
                b'\\' => {
                    let (length, kind) = escape_at(bytes, at);
                    escapes = escapes.max(kind);
                    at += length;
                }
                0..=0x1f => return None,
                _ => at += 1,
            }
            at += plain_prefix(bytes.get(at..)?);
        }
    }

    fn number(&mut self) -> Option<()> {
        let bytes = self.text.as_bytes();
        let digits = |mut at: usize| {
            while matches!(bytes.get(at), Some(b'0'..=b'9')) {
                at += 1;
            }
            at
        };
        let mut at = self.at;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        at = match bytes.get(at)? {
            b'0' => at + 1,
            b'1'..=b'9' => digits(at + 1),
            _ => return None,
        };
        if bytes.get(at) == Some(&b'.') {
            let after = digits(at + 1);
            if after == at + 1 {
                return None;
            }
            at = after;
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            let after = digits(at);
            if after == at {
                return None;
            }
            at = after;
        }
        self.at = at;
        Some(())
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// An object: `entry` is called with each key, the cursor at its value, which `entry`
    /// must consume. A key written with escapes (which API servers never write) makes the
    /// scanner give way: keys are then plain borrowed text, with nothing to decide per key.
    pub fn object(
        &mut self,
        mut entry: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        // Opening and reading each key are one copy out of line for every object read (a
        // copy inlined per caller made the reader's code twice the instruction cache); the
        // caller's own code is the dispatch on the key.
        self.sequence(b'{', b'}', |s| {
            let name = s.key()?;
            entry(s, name)
        })
    }

    /// An array: `item` is called at each element, which it must consume.
    pub fn array(&mut self, item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.sequence(b'[', b']', item)
    }

    /// Elements separated by commas between `open` and `close`, each consumed by `element`.
    #[inline]
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        mut element: impl FnMut(&mut Self) -> Option<()>,
    ) -> Option<()> {
        let mut more = self.open(open, close)?;
        while more {
            element(self)?;
            more = self.after_entry(close)?;
        }
        Some(())
    }

    /// Past `open`: whether an element follows (`false` when `close` ends it at once).
    #[inline(never)]
    fn open(&mut self, open: u8, close: u8) -> Option<bool> {
        self.expect(open)?;
        self.enter()?;
        if self.peek()? == close {
            self.at += 1;
            self.depth -= 1;
            Some(false)
        } else {
            Some(true)
        }
    }

    /// Past an element: `true` past a comma (another element follows), `false` past
    /// `close`; `None` at anything else.
    #[inline]
    fn after_entry(&mut self, close: u8) -> Option<bool> {
        match self.peek()? {
            b',' => {
                self.at += 1;
                Some(true)
            }
            byte if byte == close => {
                self.at += 1;
                self.depth -= 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// An object's key and its colon; `None` at an escaped key (see [`Scanner::object`]), so
    /// the key ends where its plain run does or not at all.
    #[inline(never)]
    fn key(&mut self) -> Option<&'a str> {
        self.expect(b'"')?;
        let start = self.at;
        let bytes = self.text.as_bytes();
        let end = start + plain_prefix(bytes.get(start..)?);
        if *bytes.get(end)? != b'"' {
            return None;
        }
        self.at = end + 1;
        self.expect(b':')?;
        Some(&self.text[start..end])
    }

    /// An array, each element read by `read`.
    pub fn list<T>(&mut self, mut read: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let mut items = Vec::new();
        self.array(|s| read(s).map(|item| items.push(item)))?;
        Some(items)
    }

    /// An object read into `value` field by field: `field` gets each key with the cursor at
    /// its value, which it must consume (or step over), and the fields met so far.
    pub fn fields<T>(
        &mut self,
        mut value: T,
        mut field: impl FnMut(&mut Self, &mut Seen, &mut T, &str) -> Option<()>,
    ) -> Option<T> {
        let mut seen = Seen::default();
        self.object(|s, key| field(s, &mut seen, &mut value, key))?;
        Some(value)
    }

    /// Steps over one value of any kind, checking it is JSON. However deep it nests: what
    /// the rules never read may nest as it likes (serde skips it so too), and a loop with a
    /// stack of open brackets cannot run out of call stack.
    pub fn skip(&mut self) -> Option<()> {
        let mut open = Nesting::default();
        loop {
            // At a value.
            match self.peek()? {
                bracket @ (b'{' | b'[') => {
                    let object = bracket == b'{';
                    self.at += 1;
                    if self.peek()? == if object { b'}' } else { b']' } {
                        self.at += 1;
                    } else {
                        open.push(object);
                        if object {
                            self.skip_key()?;
                        }
                        continue;
                    }
                }
                _ => self.skip_scalar()?,
            }
            // Past a value: close what ends here, then on to the next element, if any.
            loop {
                let Some(in_object) = open.last() else {
                    return Some(());
                };
                match (self.peek()?, in_object) {
                    (b',', true) => {
                        self.at += 1;
                        self.skip_key()?;
                        break;
                    }
                    (b',', false) => {
                        self.at += 1;
                        break;
                    }
                    (b'}', true) | (b']', false) => {
                        self.at += 1;
                        open.pop();
                    }
                    _ => return None,
                }
            }
        }
    }

    #[inline]
    fn skip_key(&mut self) -> Option<()> {
        self.skip_string()?;
        self.expect(b':')
    }

    /// Steps over a string (and nothing else), checking it as a string is read, not as
    /// serde skips one: skipping lets a lone surrogate (`\ud800`) pass that reading the
    /// object as a tree refuses.
    #[inline(always)]
    pub fn skip_string(&mut self) -> Option<()> {
        let (start, end, escapes) = self.string_span()?;
        if escapes == Escapes::Other {
            self.unescaped(start, end)?;
        }
        Some(())
    }

    fn skip_scalar(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// Steps over one value and returns its text.
    pub fn raw(&mut self) -> Option<&'a str> {
        self.peek()?;
        let start = self.at;
        self.skip()?;
        Some(&self.text[start..self.at])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the scanner makes of `text` as one value stepped over, against serde_json.
    fn agrees(text: &str) {
        let mut scanner = Scanner::new(text);
        let scanned = scanner.skip().is_some() && scanner.at_end();
        let parsed = serde_json::from_str::<serde_json::Value>(text).is_ok();
        // Stricter is allowed, laxer never.
        assert!(
            !scanned || parsed,
            "scanner accepts what serde_json refuses: {text:?}"
        );
    }

    #[test]
    fn steps_over_json_and_refuses_what_is_not() {
        for text in [
            r#"{"a":[1,-2.5e+3,0,true,false,null,"x\"y",{"b":{}}],"c":[]}"#,
            " { \"a\" : 1 } ",
            r#""\u00e9\n""#,
            "01",
            "1.",
            "-",
            "1e",
            "[1,]",
            r#"{"a":1,}"#,
            r#"{"a" 1}"#,
            "nul",
            "nullx",
            r#""\x""#,
            r#""\ud800""#,
            "\"a\tb\"",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
            "{}x",
            "",
        ] {
            agrees(text);
        }
        let mut nested = Scanner::new(r#"{"a":[1,-2.5e+3,0,true,false,null,"x\"y",{"b":{}}]}"#);
        assert!(nested.skip().is_some() && nested.at_end());
        // Deeper than any call stack, and mixed so that the kinds of bracket must be kept.
        let deep = format!("{}1{}", r#"{"a":["#.repeat(50_000), "]}".repeat(50_000));
        let mut scanner = Scanner::new(&deep);
        assert!(scanner.skip().is_some() && scanner.at_end());
        let crossed = format!("{}1{}", r#"{"a":["#.repeat(70), "}]".repeat(70));
        assert!(Scanner::new(&crossed).skip().is_none());
    }

    #[test]
    fn strings_stepped_over_are_refused_exactly_when_serde_refuses_to_read_them() {
        for text in [
            r#""plain""#,
            r#""{\"apiVersion\":\"apps/v1\",\"a\\b\/c\b\f\n\r\t\u003c\u00E9\uFFFF\u0000""#,
            r#""\ud83d\ude00""#,
            r#""\uD83D\uDE00""#,
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            r#""\ud800x""#,
            r#""\u12""#,
            r#""\u12G4""#,
            r#""\u+123""#,
            r#""\a""#,
            r#""\x41""#,
            r#""\""#,
            r#""\\""#,
            "\"\\\u{e9}\"",
        ] {
            let skipped = Scanner::new(text).skip_string().is_some();
            let read = serde_json::from_str::<String>(text).is_ok();
            assert_eq!(skipped, read, "{text}");
        }
    }

    #[test]
    fn the_word_at_a_time_search_finds_the_first_special_byte() {
        // Bytes drawn mostly from around the special ones, where the arithmetic borrows.
        let alphabet = [
            0x00, 0x1f, 0x20, 0x21, b'"', b'#', b'[', b'\\', b']', b'a', 0x7f, 0x80, 0xc3, 0xff,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let bytes: [u8; 8] =
                std::array::from_fn(|i| alphabet[(state >> (i * 4)) as usize % alphabet.len()]);
            let expected = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20);
            assert_eq!(
                first_special_byte(u64::from_le_bytes(bytes)),
                expected,
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn strings_are_borrowed_unless_escaped_and_read_as_serde_reads_them() {
        let mut plain = Scanner::new(r#""registry.example/credit-scorer@sha256:0001""#);
        assert!(matches!(
            plain.string(),
            Some(Cow::Borrowed("registry.example/credit-scorer@sha256:0001"))
        ));
        let escaped = r#""a \u0026 b \"c\" \\ \u00e9""#;
        let mut scanner = Scanner::new(escaped);
        assert_eq!(
            scanner.string().as_deref(),
            Some(serde_json::from_str::<String>(escaped).unwrap().as_str())
        );
        assert!(Scanner::new("\"a\u{1}b\"").string().is_none());
    }
}
