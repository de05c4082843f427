//! One pass over a JSON object that enforces the full grammar and refuses duplicate member
//! names at any depth WITHOUT building the document: only the members the rules need are
//! captured, borrowing from the input. This keeps the verify hot path free of maps; the
//! full claims are materialized later, and only if asked for.
//!
//! Hand-written for speed (it runs twice per verification). It accepts exactly what the
//! strict serde_json parser in `strict_json.rs` accepts (same grammar, UTF-8 rules, lone
//! surrogates refused, numbers out of f64 range refused, 127 levels of nesting at most);
//! the tests below hold the two to that on random and mutated documents.

#![forbid(unsafe_code)]

use std::borrow::Cow;
use std::collections::HashSet;
use std::mem::ManuallyDrop;
use std::ops::Range;

/// A captured member value, reduced to what the rules look at.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lite<'a> {
    Null,
    Bool,
    Number(f64),
    Str(Cow<'a, str>),
    /// Elements of a captured array (each reduced the same way).
    Array(Vec<Lite<'a>>),
    Object,
}

impl<'a> Lite<'a> {
    /// Whether dropping this frees memory.
    fn owns_heap(&self) -> bool {
        matches!(self, Lite::Str(Cow::Owned(_)) | Lite::Array(_))
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Lite::Str(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug)]
/// What [`scan_object`] found: the captured members (by position in `names`) and which of
/// the `presence` names are present with a non-null value (bit i for `presence[i]`).
pub(crate) struct Scanned<'a, const N: usize> {
    /// Dropped by hand, and only when a capture holds heap memory: usually every capture
    /// borrows from the input, and the drop glue of N slots is not free on a path that
    /// runs for every verification.
    pub members: ManuallyDrop<[Option<Lite<'a>>; N]>,
    /// Whether a capture (ever) held heap memory: a string with escapes (unescaped into a
    /// copy), or an array.
    owns_heap: bool,
    pub present: u64,
}

impl<const N: usize> Drop for Scanned<'_, N> {
    fn drop(&mut self) {
        if self.owns_heap {
            self.members.iter_mut().for_each(|m| drop(m.take()));
        }
    }
}

/// Longest `presence` list [`scan_object`] accepts.
pub(crate) const MAX_PRESENCE_NAMES: usize = 64;

/// Containers nested deeper than this are refused (serde_json's recursion limit).
const MAX_DEPTH: u32 = 127;

/// The member names a scan captures, in slot order, packed once (see [`Name`]).
pub(crate) struct Names<const N: usize> {
    names: [Name<'static>; N],
    /// The [`bloom_bit`]s of all: a name whose bit is clear is none of them.
    bloom: u64,
}

impl<const N: usize> Names<N> {
    pub const fn new(texts: [&'static str; N]) -> Self {
        let mut names = [Name { text: "", word: 0 }; N];
        let (mut k, mut bloom) = (0, 0);
        while k < N {
            names[k] = Name::new(texts[k]);
            bloom |= bloom_bit(texts[k]);
            k += 1;
        }
        Names { names, bloom }
    }

    /// The slot of `name`, whose [`bloom_bit`] is `bit`.
    #[inline]
    fn find(&self, name: &Name<'_>, bit: u64) -> Option<usize> {
        if self.bloom & bit == 0 {
            return None;
        }
        self.names.iter().position(|n| n.is(name))
    }
}

/// The names whose presence with a non-null value a scan notes (bit i for name i), at
/// most [`MAX_PRESENCE_NAMES`], packed once.
#[derive(Clone, Debug, Default)]
pub(crate) struct Presence {
    texts: Vec<String>,
    words: Vec<u64>,
    /// As [`Names::bloom`].
    bloom: u64,
}

impl Presence {
    pub fn new(texts: Vec<String>) -> Self {
        let words = texts.iter().map(|t| Name::new(t).word).collect();
        let bloom = texts.iter().fold(0, |bloom, t| bloom | bloom_bit(t));
        Presence {
            texts,
            words,
            bloom,
        }
    }

    /// The bit number of `name`, whose [`bloom_bit`] is `bit`.
    #[inline]
    fn find(&self, name: &Name<'_>, bit: u64) -> Option<usize> {
        if self.bloom & bit == 0 {
            return None;
        }
        self.texts
            .iter()
            .zip(&self.words)
            .position(|(text, &word)| Name { text, word }.is(name))
    }
}

/// Why a document was refused: a syntax error at this byte offset, or (when the parser
/// holds a `duplicate`) a repeated member name. One word, so results travel in registers.
#[derive(Clone, Copy, Debug)]
struct Fail(usize);

type Parsed<T> = Result<T, Fail>;

impl<'a, const N: usize> Scanned<'a, N> {
    pub fn new() -> Self {
        Scanned {
            members: ManuallyDrop::new(std::array::from_fn(|_| None)),
            owns_heap: false,
            present: 0,
        }
    }

    /// The captures, moved out.
    pub fn into_members(mut self) -> [Option<Lite<'a>>; N] {
        std::mem::replace(&mut *self.members, std::array::from_fn(|_| None))
    }
}

/// Scans `bytes` as one JSON object. Errors are short and never echo the input.
pub(crate) fn scan_object<'a, const N: usize>(
    bytes: &'a [u8],
    names: &Names<N>,
    presence: &Presence,
) -> Result<Scanned<'a, N>, String> {
    let mut out = Scanned::new();
    scan_object_into(bytes, names, presence, &mut out).map(|()| out)
}

/// [`scan_object`] into `out` (fresh from [`Scanned::new`]): the captures are written in
/// place, never moved (they are large, and this runs on every verification).
pub(crate) fn scan_object_into<'a, const N: usize>(
    bytes: &'a [u8],
    names: &Names<N>,
    presence: &Presence,
    out: &mut Scanned<'a, N>,
) -> Result<(), String> {
    debug_assert!(presence.texts.len() <= MAX_PRESENCE_NAMES);
    let first = bytes.iter().find(|b| !b" \t\r\n".contains(b));
    if first != Some(&b'{') {
        return Err("is not a JSON object".to_owned());
    }
    let mut p = Parser {
        b: bytes,
        i: 0,
        duplicate: None,
    };
    let result = p.top(names, presence, out).and_then(|()| {
        p.ws();
        if p.i == bytes.len() {
            Ok(())
        } else {
            Err(Fail(p.i))
        }
    });
    match (result, p.duplicate) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(key)) => Err(format!(
            "is not valid JSON (duplicate member name {:?})",
            crate::support::untrusted_text::clip(&key, 40)
        )),
        (Err(Fail(at)), None) => {
            let before = &bytes[..at.min(bytes.len())];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
            Err(format!(
                "is not valid JSON (error at line {line} column {column})"
            ))
        }
    }
}

/// A member name as the scanner compares it: its text and, for names of at most eight
/// bytes, those bytes packed into a word (little-endian, zero-padded), so that equal
/// lengths and one comparison of words decide equality.
#[derive(Clone, Copy)]
struct Name<'k> {
    text: &'k str,
    /// 0 for names longer than eight bytes (compared by text).
    word: u64,
}

impl<'k> Name<'k> {
    const fn new(text: &'k str) -> Self {
        let bytes = text.as_bytes();
        let mut word = 0u64;
        if bytes.len() <= 8 {
            let mut k = bytes.len();
            while k > 0 {
                k -= 1;
                word = word << 8 | bytes[k] as u64;
            }
        }
        Name { text, word }
    }

    /// [`Name::new`] for a name found at `text_at` in `input`: the word is read from the
    /// input in one load when eight bytes are there.
    #[inline]
    fn in_input(input: &'k [u8], text_at: usize, text: &'k str) -> Self {
        match input.get(text_at..text_at + 8) {
            Some(eight) if text.len() <= 8 => Name::from_word(
                text,
                u64::from_le_bytes(eight.try_into().unwrap_or_default()),
            ),
            _ => Name::new(text),
        }
    }

    /// The name `text` (at most eight bytes), whose bytes start `word` as read from the
    /// input: the bytes after it are cleared.
    #[inline]
    fn from_word(text: &'k str, word: u64) -> Self {
        let word = match text.len() {
            8 => word,
            len => word & ((1 << (8 * len)) - 1),
        };
        Name { text, word }
    }

    #[inline]
    fn is(&self, other: &Name<'_>) -> bool {
        let len = self.text.len();
        len == other.text.len()
            && if len <= 8 {
                self.word == other.word
            } else {
                self.text == other.text
            }
    }
}

/// The member names of one object, to refuse duplicates: packed inline for the usual
/// handful, hashed past that so a huge object cannot cost quadratic time.
struct Seen<'a> {
    /// One bit per [`bloom_bit`] of every name so far: a clear bit means "new" without
    /// comparing against any of them.
    bloom: u64,
    inline: [Name<'a>; 16],
    len: usize,
    /// Names that were escaped in the input, or past the inline room.
    spill: Vec<Cow<'a, str>>,
    large: Option<HashSet<Cow<'a, str>>>,
}

impl<'a> Seen<'a> {
    fn new() -> Self {
        Seen {
            bloom: 0,
            inline: [Name { text: "", word: 0 }; 16],
            len: 0,
            spill: Vec::new(),
            large: None,
        }
    }

    /// False when `key` (whose [`bloom_bit`] is `bit`) was seen before. `borrowed` is its
    /// packed form when the key is borrowed from the input (the inline list holds only
    /// those).
    #[inline]
    fn insert(&mut self, key: &str, bit: u64, borrowed: Option<Name<'a>>) -> bool {
        if self.bloom & bit == 0 && self.large.is_none() && self.len < self.inline.len() {
            if let Some(name) = borrowed {
                self.bloom |= bit;
                self.inline[self.len] = name;
                self.len += 1;
                return true;
            }
        }
        self.insert_slow(key, borrowed, bit)
    }

    /// A name whose bloom bit was set already, an escaped one, or one past the inline room.
    #[cold]
    fn insert_slow(&mut self, key: &str, borrowed: Option<Name<'a>>, bit: u64) -> bool {
        let kept = || match borrowed {
            Some(name) => Cow::Borrowed(name.text),
            None => Cow::Owned(key.to_owned()),
        };
        if let Some(set) = &mut self.large {
            return set.insert(kept());
        }
        if self.bloom & bit != 0 {
            let name = Name::new(key);
            if self.inline[..self.len].iter().any(|k| k.is(&name))
                || self.spill.iter().any(|k| k == key)
            {
                return false;
            }
        }
        self.bloom |= bit;
        match borrowed {
            Some(name) if self.len < self.inline.len() => {
                self.inline[self.len] = name;
                self.len += 1;
            }
            _ => self.spill.push(kept()),
        }
        if self.len + self.spill.len() > 32 {
            let mut set: HashSet<Cow<'a, str>> = self.inline[..self.len]
                .iter()
                .map(|k| Cow::Borrowed(k.text))
                .collect();
            set.extend(self.spill.drain(..));
            self.large = Some(set);
        }
        true
    }
}

/// A bit chosen by a name's length and first and last bytes (names differ there).
#[inline]
const fn bloom_bit(name: &str) -> u64 {
    let b = name.as_bytes();
    let (first, last) = match b.len() {
        0 => (0, 0),
        n => (b[0] as u32, b[n - 1] as u32),
    };
    let mix = (b.len() as u32) << 16 | first << 8 | last;
    1 << (mix.wrapping_mul(0x9E37_79B1) >> 26)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    /// The repeated member name, when that is why the scan failed.
    duplicate: Option<String>,
}

/// The bytes a string's body may hold as they are: not `"`, `\`, a control character or
/// the start of a multi-byte UTF-8 sequence.
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0x20;
    while c < 0x80 {
        t[c] = c != b'"' as usize && c != b'\\' as usize;
        c += 1;
    }
    t
};

/// How many bytes at the start of `b` are [`PLAIN`]: eight at a time while it can (a word
/// holds a special byte when one is `"`, `\`, below 0x20 or 0x80 and above), then one by
/// one. Each test below can flag false positives only above a true one, so the lowest
/// flagged byte is always the first special byte.
#[inline]
fn plain_run(b: &[u8]) -> usize {
    let mut words = b.chunks_exact(8);
    let mut n = 0;
    for word in &mut words {
        let special = special_bytes(u64::from_le_bytes(word.try_into().unwrap_or_default()));
        if special != 0 {
            return n + (special.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    let rest = words.remainder();
    n + rest
        .iter()
        .position(|c| !PLAIN[*c as usize])
        .unwrap_or(rest.len())
}

/// The high bit of each byte of `x` (first byte lowest) that is not [`PLAIN`], exact up to
/// the first such byte (a borrow may flag bytes after it, never before).
#[inline]
fn special_bytes(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v;
    (zero_byte(x ^ (ONES * u64::from(b'"')))
        | zero_byte(x ^ (ONES * u64::from(b'\\')))
        | (x.wrapping_sub(ONES * 0x20) & !x)
        | x)
        & HIGH
}

/// What to keep of a value: nothing (validate only), or its [`Lite`] form.
#[derive(Copy, Clone, PartialEq)]
enum Keep {
    Nothing,
    Lite,
}

impl<'a> Parser<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    #[inline]
    fn expect(&mut self, byte: u8) -> Parsed<()> {
        if self.peek() == Some(byte) {
            self.i += 1;
            Ok(())
        } else {
            Err(Fail(self.i))
        }
    }

    /// The top-level object: captures `names`, notes `presence`.
    fn top<const N: usize>(
        &mut self,
        names: &Names<N>,
        presence: &Presence,
        out: &mut Scanned<'a, N>,
    ) -> Parsed<()> {
        self.ws();
        self.object(1, |name, bloom, p| {
            let bit = presence.find(name, bloom);
            if let Some(slot) = names.find(name, bloom) {
                // Written in place: a value moved out of a `Result` and then into the
                // slot stalled on store forwarding.
                let value = &mut out.members[slot];
                p.member_value(value)?;
                out.owns_heap |= value.as_ref().is_some_and(Lite::owns_heap);
                if let Some(bit) = bit {
                    if !matches!(value, Some(Lite::Null)) {
                        out.present |= 1 << bit;
                    }
                }
            } else {
                if let Some(bit) = bit {
                    if p.peek() != Some(b'n') {
                        out.present |= 1 << bit;
                    }
                }
                p.skip_member()?;
            }
            Ok(())
        })
    }

    /// [`Parser::value`] for a top-level member, into `slot`; strings and numbers settled
    /// inline.
    #[inline(always)]
    fn member_value(&mut self, slot: &mut Option<Lite<'a>>) -> Parsed<()> {
        *slot = Some(match self.peek() {
            Some(b'"') => Lite::Str(self.string(true)?.unwrap_or_default()),
            Some(b'-' | b'0'..=b'9') => Lite::Number(self.number(true)?.unwrap_or_default()),
            _ => self.value(1)?,
        });
        Ok(())
    }

    /// [`Parser::skip`] for a top-level member, strings and numbers settled inline.
    #[inline(always)]
    fn skip_member(&mut self) -> Parsed<()> {
        match self.peek() {
            Some(b'"') => self.string(false).map(drop),
            Some(b'-' | b'0'..=b'9') => self.number(false).map(drop),
            _ => self.skip(1),
        }
    }

    /// An object at `depth` (the cursor on `{`); `member` reads each value.
    #[inline]
    fn object(
        &mut self,
        depth: u32,
        mut member: impl FnMut(&Name<'_>, u64, &mut Self) -> Parsed<()>,
    ) -> Parsed<()> {
        if depth > MAX_DEPTH {
            return Err(Fail(self.i));
        }
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        let mut seen = Seen::new();
        loop {
            if self.peek() != Some(b'"') {
                return Err(Fail(self.i));
            }
            let key_at = self.i;
            let (key, borrowed) = self.key()?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            let bit = bloom_bit(&key);
            // One call site, so that the member closure is inlined here.
            let name = borrowed.unwrap_or_else(|| Name::new(&key));
            member(&name, bit, self)?;
            if !seen.insert(&key, bit, borrowed) {
                self.duplicate = Some(key.into_owned());
                return Err(Fail(key_at));
            }
            if self.object_ends()? {
                return Ok(());
            }
        }
    }

    /// After a member's value: true past the closing `}`, false past a `,` (and the
    /// whitespace after it), anything else an error.
    #[inline(always)]
    fn object_ends(&mut self) -> Parsed<bool> {
        self.ws();
        match self.peek() {
            Some(b',') => {
                self.i += 1;
                self.ws();
                Ok(false)
            }
            Some(b'}') => {
                self.i += 1;
                Ok(true)
            }
            _ => Err(Fail(self.i)),
        }
    }

    /// A member name (the cursor on its opening quote) and, when it is borrowed from the
    /// input, its packed form: a plain name of under eight bytes is settled from the one
    /// word that finds its closing quote.
    #[inline(always)]
    fn key(&mut self) -> Parsed<(Cow<'a, str>, Option<Name<'a>>)> {
        let start = self.i + 1;
        let rest = self.b.get(start..).unwrap_or_default();
        if let Some(eight) = rest.get(..8) {
            let word = u64::from_le_bytes(eight.try_into().unwrap_or_default());
            let run = (special_bytes(word).trailing_zeros() / 8) as usize;
            if run < 8 && rest[run] == b'"' {
                self.i = start + run + 1;
                // Checked, not assumed: plain bytes are ASCII only if `special_bytes` is
                // right, and a bug there must be a refusal, not undefined behaviour.
                let text = std::str::from_utf8(&rest[..run]).map_err(|_| Fail(start))?;
                return Ok((Cow::Borrowed(text), Some(Name::from_word(text, word))));
            }
        }
        let key = self.string(true)?.unwrap_or_default();
        let borrowed = match key {
            Cow::Borrowed(text) => Some(Name::in_input(self.b, start, text)),
            Cow::Owned(_) => None,
        };
        Ok((key, borrowed))
    }

    /// Any value at `depth` (its container's), checked and passed over.
    fn skip(&mut self, depth: u32) -> Parsed<()> {
        match self.peek() {
            Some(b'"') => self.string(false).map(drop),
            Some(b'{') => self.object(depth + 1, |_, _, p| p.skip(depth + 1)),
            Some(b'[') => self.array(Keep::Nothing, depth + 1).map(drop),
            Some(b'-' | b'0'..=b'9') => self.number(false).map(drop),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            _ => Err(Fail(self.i)),
        }
    }

    /// Any value at `depth` (its container's), captured in its [`Lite`] form.
    fn value(&mut self, depth: u32) -> Parsed<Lite<'a>> {
        Ok(match self.peek() {
            Some(b'"') => Lite::Str(self.string(true)?.unwrap_or_default()),
            Some(b'{') => {
                self.object(depth + 1, |_, _, p| p.skip(depth + 1))?;
                Lite::Object
            }
            Some(b'[') => Lite::Array(self.array(Keep::Lite, depth + 1)?),
            Some(b'-' | b'0'..=b'9') => Lite::Number(self.number(true)?.unwrap_or_default()),
            Some(b't') => self.literal(b"true").map(|_| Lite::Bool)?,
            Some(b'f') => self.literal(b"false").map(|_| Lite::Bool)?,
            Some(b'n') => self.literal(b"null").map(|_| Lite::Null)?,
            _ => return Err(Fail(self.i)),
        })
    }

    fn literal(&mut self, word: &[u8]) -> Parsed<()> {
        if self.b[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(Fail(self.i))
        }
    }

    /// An array at `depth` (the cursor on `[`): its elements' [`Lite`] forms with
    /// `Keep::Lite`, checked and passed over (an empty list) with `Keep::Nothing`.
    fn array(&mut self, keep: Keep, depth: u32) -> Parsed<Vec<Lite<'a>>> {
        if depth > MAX_DEPTH {
            return Err(Fail(self.i));
        }
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                if keep == Keep::Lite {
                    items.push(self.value(depth)?);
                } else {
                    self.skip(depth)?;
                }
                self.ws();
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b']') => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(Fail(self.i)),
                }
            }
        }
        Ok(items)
    }

    /// A string (the cursor on its opening quote); its text when `want`. The usual string,
    /// all plain ASCII, is settled here; the rest go to [`Parser::string_with_specials`].
    #[inline(always)]
    fn string(&mut self, want: bool) -> Parsed<Option<Cow<'a, str>>> {
        let start = self.i + 1;
        let rest = self.b.get(start..).unwrap_or_default();
        let run = plain_run(rest);
        if rest.get(run) != Some(&b'"') {
            return self.string_with_specials(start, start + run, want);
        }
        self.i = start + run + 1;
        // Checked, not assumed (see `key`): the SWAR run finder is not trusted with UTF-8.
        let text = std::str::from_utf8(&rest[..run]).map_err(|_| Fail(start))?;
        Ok(want.then_some(Cow::Borrowed(text)))
    }

    /// The string starting at `start` whose first byte needing a decision is at `i`.
    fn string_with_specials(
        &mut self,
        start: usize,
        mut i: usize,
        want: bool,
    ) -> Parsed<Option<Cow<'a, str>>> {
        let mut escaped = false;
        loop {
            match self.b.get(i) {
                None => return Err(Fail(i)),
                Some(b'"') => break,
                Some(0x80..) => i += 1,
                Some(b'\\') => {
                    escaped = true;
                    match self.b.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                        Some(b'u') => i = self.unicode_escape(i)?,
                        _ => return Err(Fail(i)),
                    }
                }
                Some(0..=0x1f) => return Err(Fail(i)),
                Some(_) => i += 1,
            }
            // Runs of ordinary characters are skipped a word at a time; the match above
            // sees only the bytes that need a decision.
            i += self.b.get(i..).map_or(0, plain_run);
        }
        let raw = std::str::from_utf8(&self.b[start..i]).map_err(|_| Fail(start))?;
        self.i = i + 1;
        if !want {
            return Ok(None);
        }
        if !escaped {
            return Ok(Some(Cow::Borrowed(raw)));
        }
        Ok(Some(Cow::Owned(unescape(raw))))
    }

    /// Checks `\uXXXX` at `i` (a high surrogate must be followed by a low one; a lone
    /// surrogate is refused); returns the index after it.
    fn unicode_escape(&self, i: usize) -> Parsed<usize> {
        let unit = |at: usize| -> Parsed<u16> {
            let hex = self.b.get(at..at + 4).ok_or(Fail(at))?;
            let text = std::str::from_utf8(hex).map_err(|_| Fail(at))?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return Err(Fail(at));
            }
            u16::from_str_radix(text, 16).map_err(|_| Fail(at))
        };
        let first = unit(i + 2)?;
        match first {
            0xD800..=0xDBFF => {
                if self.b.get(i + 6..i + 8) != Some(b"\\u") {
                    return Err(Fail(i + 6));
                }
                match unit(i + 8)? {
                    0xDC00..=0xDFFF => Ok(i + 12),
                    _ => Err(Fail(i + 8)),
                }
            }
            0xDC00..=0xDFFF => Err(Fail(i)),
            _ => Ok(i + 6),
        }
    }

    /// A number per the JSON grammar; its value when `want`. Numbers outside the f64 range
    /// are refused (as serde_json does), kept or not. The usual claim, a plain integer of
    /// at most 15 characters (exact and in range), is settled here.
    #[inline(always)]
    fn number(&mut self, want: bool) -> Parsed<Option<f64>> {
        let (b, start) = (self.b, self.i);
        let negative = b.get(start) == Some(&b'-');
        let at = start + usize::from(negative);
        if let Some(b'1'..=b'9') = b.get(at) {
            let (int, end) = digits(b, at);
            if end - start <= 15 && !matches!(b.get(end), Some(b'.' | b'e' | b'E')) {
                self.i = end;
                let value = if negative { -(int as i64) } else { int as i64 } as f64;
                return Ok(want.then_some(value));
            }
        }
        self.any_number(want)
    }

    /// [`Parser::number`] for every other number: zero, fractions, exponents, long ones.
    #[cold]
    fn any_number(&mut self, want: bool) -> Parsed<Option<f64>> {
        let start = self.i;
        let b = self.b;
        let mut i = start;
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i = digits(b, i).1,
            _ => return Err(Fail(i)),
        }
        if b.get(i) == Some(&b'.') {
            let after = digits(b, i + 1).1;
            if after == i + 1 {
                return Err(Fail(after));
            }
            i = after;
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            let after = digits(b, i).1;
            if after == i {
                return Err(Fail(after));
            }
            i = after;
        }
        self.i = i;
        // serde_json reads these itself, so range errors and rounding are the same as its.
        let value = serde_json::from_slice::<f64>(&b[start..i]).map_err(|_| Fail(start))?;
        Ok(want.then_some(value))
    }
}

/// The run of ASCII digits at `at` in `b`: its value (wrapping past 19 digits, where only
/// the end matters) and where it ends. Eight digits at a time while eight bytes remain.
#[inline]
fn digits(b: &[u8], at: usize) -> (u64, usize) {
    const POW10: [u64; 9] = [
        1,
        10,
        100,
        1_000,
        10_000,
        100_000,
        1_000_000,
        10_000_000,
        100_000_000,
    ];
    let (mut value, mut i) = (0u64, at);
    while let Some(eight) = b.get(i..i + 8) {
        let word = u64::from_le_bytes(eight.try_into().unwrap_or_default());
        let less_zeros = word.wrapping_sub(0x3030_3030_3030_3030);
        let n = digit_run(less_zeros);
        value = value
            .wrapping_mul(POW10[n])
            .wrapping_add(digits_value(less_zeros, n));
        i += n;
        if n < 8 {
            return (value, i);
        }
    }
    while let Some(d @ b'0'..=b'9') = b.get(i) {
        value = value.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        i += 1;
    }
    (value, i)
}

/// How many of the eight bytes of `less_zeros` (a word of input, first byte lowest, minus
/// `'0'` in every byte) were ASCII digits before the first that was not: a digit byte is
/// now 0..=9, so adding 0x76 leaves its high bit clear, and any other byte has its high bit
/// set, or gets it from the addition. Borrows and carries only run towards later bytes, so
/// the lowest flagged byte is exact.
#[inline]
fn digit_run(less_zeros: u64) -> usize {
    let flagged =
        (less_zeros.wrapping_add(0x7676_7676_7676_7676) | less_zeros) & 0x8080_8080_8080_8080;
    (flagged.trailing_zeros() / 8) as usize
}

/// The value of the first `n` (≤ 8) bytes of `less_zeros`, each 0..=9, first byte most
/// significant: the digits are moved to the top (zeros before them) and combined in pairs,
/// fours and eights by three multiplications.
#[inline]
fn digits_value(less_zeros: u64, n: usize) -> u64 {
    if n == 0 {
        return 0;
    }
    let v = less_zeros << (8 * (8 - n));
    let v = (v.wrapping_mul(2561) >> 8) & 0x00FF_00FF_00FF_00FF;
    let v = (v.wrapping_mul(6_553_601) >> 16) & 0x0000_FFFF_0000_FFFF;
    v.wrapping_mul(42_949_672_960_001) >> 32
}

/// One top-level member of a JSON object, located by [`members`] for a binding that builds
/// its own language's object from the text without parsing it a second time.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimMember {
    /// Where the member name is: a plain name (printable ASCII, no escapes), so these
    /// bytes are its text.
    pub name: Range<usize>,
    pub value: ClaimValue,
}

/// A member's value as [`members`] found it: settled when that is cheap and exact, else
/// its JSON text.
#[derive(Clone, Debug, PartialEq)]
pub enum ClaimValue {
    /// A string of printable ASCII without escapes: these bytes (between the quotes) are
    /// its text.
    Plain(Range<usize>),
    /// An integer of at most 15 digits, so exact as an f64 (what any JSON parser makes
    /// of it).
    Integer(f64),
    True,
    False,
    Null,
    /// Anything else (an object, an array, another string, another number): its JSON
    /// text, for the binding's own parser.
    Json(Range<usize>),
}

/// The top-level members of the JSON object `bytes`, in document order, into `out`
/// (cleared first). False when `bytes` is not one JSON object or a member name is not
/// plain (escapes or non-ASCII bytes): the caller then parses the text itself. Values
/// are checked as [`scan_object`] checks them, except for duplicate names at the top level,
/// which the caller's scan already refused.
pub(crate) fn members(bytes: &[u8], out: &mut Vec<ClaimMember>) -> bool {
    out.clear();
    each_member(bytes, |member| out.push(member))
}

/// [`members`], handing each member to `visit` as it is found instead of collecting
/// them: for a caller that keeps a few, with no allocation. When the answer is false,
/// `visit` may have seen some members already; the caller drops what it kept.
pub(crate) fn each_member(bytes: &[u8], mut visit: impl FnMut(ClaimMember)) -> bool {
    let mut p = Parser {
        b: bytes,
        i: 0,
        duplicate: None,
    };
    p.layout(&mut visit).is_ok() && {
        p.ws();
        p.i == bytes.len()
    }
}

impl Parser<'_> {
    /// [`each_member`]'s walk over the object.
    fn layout(&mut self, visit: &mut impl FnMut(ClaimMember)) -> Parsed<()> {
        self.ws();
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            let name = self.plain_string()?.ok_or(Fail(self.i))?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            let start = self.i;
            let value = match self.peek() {
                Some(b'"') => match self.plain_string()? {
                    Some(text) => ClaimValue::Plain(text),
                    None => {
                        self.string(false)?;
                        ClaimValue::Json(start..self.i)
                    }
                },
                Some(b'-' | b'0'..=b'9') => {
                    let value = self.number(true)?.unwrap_or_default();
                    let text = &self.b[start..self.i];
                    let digits = text.strip_prefix(b"-").unwrap_or(text);
                    // Leading zeros are refused by `number`, so "0" is the one zero here
                    // ("-0" is negative zero, which the binding's parser settles).
                    let integer = digits.len() <= 15
                        && digits.iter().all(u8::is_ascii_digit)
                        && (digits.first() != Some(&b'0') || text == b"0");
                    match integer {
                        true => ClaimValue::Integer(value),
                        false => ClaimValue::Json(start..self.i),
                    }
                }
                Some(b't') => self.literal(b"true").map(|()| ClaimValue::True)?,
                Some(b'f') => self.literal(b"false").map(|()| ClaimValue::False)?,
                Some(b'n') => self.literal(b"null").map(|()| ClaimValue::Null)?,
                _ => {
                    self.skip(1)?;
                    ClaimValue::Json(start..self.i)
                }
            };
            visit(ClaimMember { name, value });
            if self.object_ends()? {
                return Ok(());
            }
        }
    }

    /// The cursor on a string's opening quote: the range of its text when that is plain
    /// (the cursor then after the closing quote), `None` when it holds anything needing a
    /// decision (the cursor left on the quote).
    #[inline]
    fn plain_string(&mut self) -> Parsed<Option<Range<usize>>> {
        if self.peek() != Some(b'"') {
            return Err(Fail(self.i));
        }
        let start = self.i + 1;
        let end = start + plain_run(self.b.get(start..).unwrap_or_default());
        if self.b.get(end) != Some(&b'"') {
            return Ok(None);
        }
        self.i = end + 1;
        Ok(Some(start..end))
    }
}

/// The text of a string whose escapes [`Parser::string_with_specials`] already checked.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next().map(|(_, e)| e) {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let unit = |from: usize| u32::from_str_radix(&raw[from..from + 4], 16).unwrap_or(0);
                let first = unit(at + 2);
                let code = if (0xD800..0xDC00).contains(&first) {
                    let low = unit(at + 8);
                    for _ in 0..10 {
                        chars.next();
                    }
                    0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    for _ in 0..4 {
                        chars.next();
                    }
                    first
                };
                out.push(char::from_u32(code).unwrap_or('\u{fffd}'));
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(doc: &str) -> Result<Scanned<'_, 3>, String> {
        scan_object(
            doc.as_bytes(),
            &Names::new(["iss", "aud", "exp"]),
            &Presence::new(vec!["sub".to_owned(), "jti".to_owned()]),
        )
    }

    #[test]
    fn captures_members_of_interest() {
        let s = scan(r#"{"iss":"a\u0062","aud":["x",1,{"k":[]}],"exp":5.5,"sub":"s","jti":null,"n":{"a":{"b":[1,2]}}}"#).unwrap();
        assert_eq!(s.members[0], Some(Lite::Str("ab".into())));
        assert_eq!(
            s.members[1],
            Some(Lite::Array(vec![
                Lite::Str("x".into()),
                Lite::Number(1.0),
                Lite::Object
            ]))
        );
        assert_eq!(s.members[2], Some(Lite::Number(5.5)));
        assert_eq!(s.present, 0b01, "sub present, jti null");
    }

    /// The captures are dropped by hand when one holds heap memory (see
    /// [`Scanned::members`]): the flag must be up whenever one does.
    #[test]
    fn notes_captures_that_own_memory() {
        for (doc, owns) in [
            (r#"{"iss":"a","exp":1}"#, false),
            (r#"{"sub":"\n","n":["x"],"m":"\u0061"}"#, false),
            (r#"{"iss":"\n"}"#, true),
            (r#"{"iss":"\u0061"}"#, true),
            (r#"{"aud":["x"]}"#, true),
            (r#"{"aud":[]}"#, true),
            (r#"{"exp":1,"aud":"x","iss":"a\/"}"#, true),
        ] {
            let s = scan(doc).unwrap();
            let really = s
                .members
                .iter()
                .flatten()
                .any(|m| matches!(m, Lite::Str(Cow::Owned(_)) | Lite::Array(_)));
            assert_eq!((s.owns_heap, really), (owns, owns), "{doc}");
        }
        // A capture that was replaced by a duplicate's is freed by the assignment, and
        // the scan fails with the first one's memory noted.
        let dup = r#"{"aud":["a"],"aud":["b"]}"#;
        assert!(scan(dup).unwrap_err().contains("duplicate"));
        let mut out = Scanned::new();
        let names = Names::new(["iss", "aud", "exp"]);
        assert!(scan_object_into(dup.as_bytes(), &names, &Presence::default(), &mut out).is_err());
        assert!(out.owns_heap && out.members[1].is_some());
    }

    #[test]
    fn refuses_duplicates_at_any_depth() {
        for doc in [
            r#"{"iss":"a","iss":"b"}"#,
            r#"{"x":1,"x":1}"#,
            r#"{"n":{"a":1,"a":2}}"#,
            r#"{"aud":[{"a":1,"\u0061":2}]}"#,
            r#"{"n":[[{"z":{"q":0,"q":0}}]]}"#,
        ] {
            assert!(scan(doc).unwrap_err().contains("duplicate member"), "{doc}");
        }
    }

    #[test]
    fn large_objects_still_catch_duplicates() {
        let mut doc = String::from("{");
        for i in 0..100 {
            doc.push_str(&format!("\"k{i}\":{i},"));
        }
        doc.push_str("\"k7\":0}");
        assert!(scan(&doc).unwrap_err().contains("duplicate"));
    }

    #[test]
    fn refuses_bad_json_without_echo() {
        for doc in [
            "",
            "[]",
            "\"x\"",
            "{",
            "{} {}",
            r#"{"a":1e999}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"secret":tru}"#,
            "foo",
        ] {
            let err = scan(doc).unwrap_err();
            assert!(!err.contains("tru") && !err.contains("secret"), "{err}");
        }
        assert!(scan(" \n{\"iss\":\"a\"}\n").is_ok());
    }

    #[test]
    fn agrees_with_the_full_parser() {
        for doc in [
            r#"{"a":[1,{"b":null}],"c":"\u00e9"}"#,
            r#"{"a":1,"a":1}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"{"a":tru}"#,
            "{}",
        ] {
            assert_eq!(
                scan(doc).is_ok(),
                crate::format::strict_json::parse_object(doc.as_bytes()).is_ok(),
                "{doc}"
            );
        }
    }

    /// Edge cases of the grammar, each judged as the full strict parser judges it (and
    /// captured numbers and strings read the same).
    #[test]
    fn edge_documents_agree_with_the_full_parser() {
        let mut docs: Vec<Vec<u8>> = [
            r#"{"exp":1767225600}"#,
            r#"{"exp":-0}"#,
            r#"{"exp":1767225600.5}"#,
            r#"{"exp":1e308}"#,
            r#"{"exp":1.7976931348623157e308}"#,
            r#"{"exp":1e309}"#,
            r#"{"exp":-1e309}"#,
            r#"{"exp":1e-400}"#,
            r#"{"exp":123456789012345}"#,
            r#"{"exp":1234567890123456}"#,
            r#"{"exp":12345678901234567890}"#,
            r#"{"exp":123456789012345678901234567890}"#,
            r#"{"exp":-9223372036854775809}"#,
            r#"{"exp":1E+2}"#,
            r#"{"exp":1e}"#,
            r#"{"exp":1e+}"#,
            r#"{"exp":-}"#,
            r#"{"exp":01}"#,
            r#"{"exp":.5}"#,
            r#"{"exp":+1}"#,
            r#"{"exp":0x10}"#,
            r#"{"exp":1.0e-5}"#,
            r#"{"iss":"\ud83d\ude00"}"#,
            r#"{"iss":"\ud83d"}"#,
            r#"{"iss":"\ud83d\u0041"}"#,
            r#"{"iss":"\ude00"}"#,
            r#"{"iss":"\uD83D\uDE00x"}"#,
            r#"{"iss":"\u00"}"#,
            r#"{"iss":"\u00g0"}"#,
            r#"{"iss":"a\/b\"\\\b\f\n\r\t"}"#,
            r#"{"iss":"\a"}"#,
            r#"{"i\u0073s":"x","iss":"y"}"#,
            r#"{"iss":"x","i\u0073s":"y"}"#,
            r#"{"\u0000":1}"#,
            r#"{"a":true,"b":false,"c":null}"#,
            r#"{"a":truex}"#,
            r#"{"a":nul}"#,
            r#"{"a":[1,]}"#,
            r#"{"a":[,1]}"#,
            r#"{"a":1,}"#,
            r#"{,"a":1}"#,
            r#"{"a" : 1 , "b" : [ 1 , { } ] }"#,
            "{\"a\":1}\n\t ",
            "{\"a\":1}x",
            "{\"a\"\u{a0}:1}",
            r#"{'a':1}"#,
            r#"{a:1}"#,
            "{\"a\":\"\u{7f}\"}",
            "{\"aud\":[\"x\",[\"y\",{\"z\":[]}],null,1.5,true]}",
        ]
        .iter()
        .map(|d| d.as_bytes().to_vec())
        .collect();
        docs.push(b"{\"iss\":\"\x01\"}".to_vec());
        docs.push(b"{\"iss\":\"\xff\"}".to_vec());
        docs.push(b"{\"iss\":\"\xc3\xa9\"}".to_vec());
        docs.push(b"{\"iss\":\"\xed\xa0\x80\"}".to_vec()); // a surrogate in UTF-8
        docs.push(b"{\"\xff\":1}".to_vec());
        for depth in [126, 127, 128, 200] {
            // `depth` containers in all, the top object included.
            let inner = depth - 1;
            let mut d = "{\"a\":".to_owned() + &"[".repeat(inner) + &"]".repeat(inner) + "}";
            docs.push(d.clone().into_bytes());
            d = "{\"a\":".to_owned() + &"{\"b\":".repeat(inner) + "1" + &"}".repeat(inner) + "}";
            docs.push(d.into_bytes());
        }
        let mut accepted = 0;
        for doc in &docs {
            let full = crate::format::strict_json::parse_object(doc);
            let scanned = scan_object(
                doc,
                &Names::new(["iss", "aud", "exp"]),
                &Presence::default(),
            );
            let shown = String::from_utf8_lossy(doc);
            assert_eq!(full.is_ok(), scanned.is_ok(), "{shown}: {scanned:?}");
            if let (Ok(map), Ok(s)) = (full, scanned) {
                accepted += 1;
                if let Some(serde_json::Value::Number(n)) = map.get("exp") {
                    assert_eq!(
                        s.members[2],
                        Some(Lite::Number(n.as_f64().unwrap())),
                        "{shown}"
                    );
                }
                if let Some(serde_json::Value::String(text)) = map.get("iss") {
                    assert_eq!(
                        s.members[0].as_ref().and_then(Lite::as_str),
                        Some(text.as_str()),
                        "{shown}"
                    );
                }
            }
        }
        assert!(accepted > 15, "{accepted}");
    }

    /// The eight-at-a-time digit run (value and end) equals the one-digit-at-a-time one,
    /// for runs of every length up to 24 and whatever follows them.
    #[test]
    fn digits_agree_with_one_at_a_time() {
        let naive = |b: &[u8], at: usize| {
            let end = at + b[at..].iter().take_while(|c| c.is_ascii_digit()).count();
            let value = b[at..end].iter().fold(0u64, |v, d| {
                v.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
            });
            (value, end)
        };
        let mut docs: Vec<Vec<u8>> = Vec::new();
        for len in 0..=24 {
            let run: Vec<u8> = (0..len).map(|k| b"9081726354"[k % 10]).collect();
            for tail in [
                &b""[..],
                b",",
                b"}",
                b".5",
                b"e3",
                b"\xff",
                b"\x3a",
                b"/",
                b"\xfa0",
            ] {
                let mut doc = run.clone();
                doc.extend_from_slice(tail);
                doc.extend_from_slice(b"12345678");
                docs.push(doc.clone());
                doc.truncate(len + tail.len());
                docs.push(doc);
            }
        }
        for doc in &docs {
            for at in 0..doc.len().min(3) {
                assert_eq!(
                    digits(doc, at),
                    naive(doc, at),
                    "{:?} at {at}",
                    String::from_utf8_lossy(doc)
                );
            }
        }
        assert_eq!(digits(b"1767229200,", 0), (1_767_229_200, 10));
        assert_eq!(digits(b"00000007x", 0), (7, 8));
    }

    /// Escaped, empty and long names take the slower paths; duplicates among them are still
    /// caught, also once the inline room is full and the names are hashed.
    #[test]
    fn every_kind_of_name_meets_in_one_list() {
        assert!(scan(r#"{"":1,"":2}"#).unwrap_err().contains("duplicate"));
        assert!(scan(r#"{"\u0061b":1,"ab":2}"#)
            .unwrap_err()
            .contains("duplicate"));
        assert!(scan(r#"{"ab":1,"a\u0062":2}"#)
            .unwrap_err()
            .contains("duplicate"));
        assert!(scan(r#"{"a-long-member-name":1,"a-long-member-name":2}"#)
            .unwrap_err()
            .contains("duplicate"));
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let doc = format!("{{{}}}", many.join(","));
        assert!(scan(&doc).is_ok());
        let doc = format!("{{{},\"k3\":0}}", many.join(","));
        assert!(scan(&doc).unwrap_err().contains("duplicate"));
        let doc = format!("{{{},\"k\\u0033\":0}}", many.join(","));
        assert!(scan(&doc).unwrap_err().contains("duplicate"));
    }

    /// The word-at-a-time run length equals the byte-by-byte one, wherever the first
    /// special byte sits and whatever follows it.
    #[test]
    fn plain_run_agrees_with_the_table() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let interesting = [
            b'"', b'\\', 0x1f, 0x20, 0x7f, 0x80, 0xff, 0x00, 0x21, 0x5b, 0x5d, b'a',
        ];
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 40) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|i| {
                    let r = state.rotate_left(i as u32 * 7);
                    if r % 5 == 0 {
                        interesting[(r >> 8) as usize % interesting.len()]
                    } else {
                        b'a' + (r >> 16) as u8 % 26
                    }
                })
                .collect();
            let expected = bytes
                .iter()
                .position(|c| !PLAIN[*c as usize])
                .unwrap_or(len);
            assert_eq!(plain_run(&bytes), expected, "{bytes:?}");
        }
    }

    mod random {
        /// Random JSON objects for the differential tests: every kind of value, names with
        /// and without escapes, numbers valid and not.
        pub(super) struct Rng(pub u64);
        impl Rng {
            fn next(&mut self) -> u64 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0
            }
            pub(super) fn below(&mut self, n: u64) -> u64 {
                self.next() % n
            }
        }
        // The accessors' claims too (`crate::fuzzing::check_scanner` compares them).
        const KEYS: [&str; 13] = [
            "iss",
            "aud",
            "exp",
            "sub",
            "a",
            "\\u0069ss",
            "x",
            "jti",
            "scope",
            "scp",
            "permissions",
            "cnf",
            "jkt",
        ];
        fn value(r: &mut Rng, depth: u32, out: &mut String) {
            match r.below(if depth > 3 { 5 } else { 7 }) {
                0 => out.push_str(["null", "true", "false"][r.below(3) as usize]),
                1 => {
                    const NUMBERS: [&str; 22] = [
                        "0",
                        "-1",
                        "1.5",
                        "1e3",
                        "17672256000",
                        "-0.0",
                        "1e999",
                        "01",
                        "1.",
                        "123456789012345",
                        "-12345678901234",
                        "1234567890123456",
                        "-123456789012345",
                        "99999999999999999999",
                        "12345678.25",
                        "87654321e-2",
                        "1E+2",
                        "-",
                        "2.e1",
                        "9007199254740993",
                        "00",
                        "-01",
                    ];
                    out.push_str(NUMBERS[r.below(NUMBERS.len() as u64) as usize])
                }
                2 => out.push_str(
                    [
                        "\"s\"",
                        "\"\\u00e9\"",
                        "\"\\ud83d\\ude00\"",
                        "\"\\ud800\"",
                        "\"a\\nb\"",
                        "\"\"",
                        "\"\\x\"",
                        "\" read  write\"",
                    ][r.below(8) as usize],
                ),
                3 | 4 => out.push_str("\"api://default\""),
                5 => {
                    out.push('[');
                    for i in 0..r.below(4) {
                        if i > 0 {
                            out.push(',');
                        }
                        value(r, depth + 1, out);
                    }
                    out.push(']');
                }
                _ => object(r, depth + 1, out),
            }
        }
        pub(super) fn object(r: &mut Rng, depth: u32, out: &mut String) {
            out.push('{');
            for i in 0..r.below(6) {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                out.push_str(KEYS[r.below(KEYS.len() as u64) as usize]);
                out.push_str("\":");
                value(r, depth, out);
            }
            out.push('}');
        }
    }
    use random::{object, Rng};

    /// The seed of a property test: `VERITOKEN_SCAN_SEED` (decimal or 0x-hex) replays a
    /// run; otherwise a fresh one each run, printed so that a failure can be replayed.
    fn seed() -> u64 {
        let fresh = || {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            (nanos ^ u64::from(std::process::id()).rotate_left(32)) | 1
        };
        let seed = match std::env::var("VERITOKEN_SCAN_SEED") {
            Ok(text) => match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            }
            .expect("VERITOKEN_SCAN_SEED is a number"),
            Err(_) => fresh(),
        };
        // Shown by the test harness when the test fails.
        eprintln!("seed {seed:#x}: replay with VERITOKEN_SCAN_SEED={seed:#x}");
        seed
    }

    /// Differential property test against the full strict parser (which builds the whole
    /// document through a different visitor), from a fresh seed each run: random and
    /// mutated documents must get the same verdict, captured members the same values, and
    /// the member locator the parser's members (`crate::fuzzing::check_scanner`, the
    /// oracle the `signed_json` fuzz target uses too).
    #[test]
    fn random_documents_agree_with_the_full_parser() {
        let mut r = Rng(seed());
        let (mut accepted, mut rejected) = (0, 0);
        for _ in 0..20_000 {
            let mut doc = String::new();
            object(&mut r, 0, &mut doc);
            let mut bytes = doc.into_bytes();
            match r.below(4) {
                0 if !bytes.is_empty() => {
                    let at = r.below(bytes.len() as u64) as usize;
                    let pool = b"{}[],:\"\\ 0a\x00\xff";
                    bytes[at] = pool[r.below(pool.len() as u64) as usize];
                }
                1 if !bytes.is_empty() => bytes.truncate(r.below(bytes.len() as u64) as usize),
                _ => {}
            }
            if crate::fuzzing::check_scanner(&bytes) {
                accepted += 1;
            } else {
                rejected += 1;
            }
        }
        assert!(
            accepted > 2_000 && rejected > 2_000,
            "{accepted} accepted, {rejected} rejected"
        );
    }

    /// A member as text, to compare lists of them.
    fn shown(doc: &str, m: &ClaimMember) -> String {
        let text = |r: &Range<usize>| &doc[r.clone()];
        let value = match &m.value {
            ClaimValue::Plain(r) => format!("plain {}", text(r)),
            ClaimValue::Integer(n) => format!("integer {n:?}"),
            ClaimValue::True => "true".to_owned(),
            ClaimValue::False => "false".to_owned(),
            ClaimValue::Null => "null".to_owned(),
            ClaimValue::Json(r) => format!("json {}", text(r)),
        };
        format!("{}: {value}", text(&m.name))
    }

    #[test]
    fn members_locate_each_top_level_claim() {
        let doc = r#" {"sub":"u-1", "n" : 1796558000 ,"z":0,"neg":-12,"big":1234567890123456,
            "max":999999999999999,"f":1.5,"m0":-0,"e":1e3,"t":true,"no":false,"nil":null,
            "esc":"a\nb","uni":"é","o":{"a":[1,{"b":"}"}]},"a":[],"s":"","__proto__":"x"} "#;
        let mut out = vec![ClaimMember {
            name: 0..1,
            value: ClaimValue::Null,
        }];
        assert!(members(doc.as_bytes(), &mut out));
        let got: Vec<String> = out.iter().map(|m| shown(doc, m)).collect();
        assert_eq!(
            got,
            [
                "sub: plain u-1",
                "n: integer 1796558000.0",
                "z: integer 0.0",
                "neg: integer -12.0",
                "big: json 1234567890123456",
                "max: integer 999999999999999.0",
                "f: json 1.5",
                "m0: json -0",
                "e: json 1e3",
                "t: true",
                "no: false",
                "nil: null",
                r#"esc: json "a\nb""#,
                r#"uni: json "é""#,
                r#"o: json {"a":[1,{"b":"}"}]}"#,
                "a: json []",
                "s: plain ",
                "__proto__: plain x",
            ]
        );
        assert!(members(b" { } ", &mut out) && out.is_empty());
    }

    #[test]
    fn members_leave_names_that_are_not_plain_and_bad_text_to_the_caller() {
        let mut out = Vec::new();
        for doc in [
            r#"{"a\u0062":1}"#,
            r#"{"ok":1,"\n":2}"#,
            r#"{"é":1}"#,
            "",
            "[]",
            "{",
            r#"{"a":1"#,
            r#"{"a":1}x"#,
            r#"{"a" 1}"#,
            r#"{"a":1,}"#,
            r#"{"a":tru}"#,
            r#"{"a":01}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":{"b":1,"b":2}}"#,
        ] {
            assert!(!members(doc.as_bytes(), &mut out), "{doc}");
        }
    }

    /// On random documents the full parser accepts, every member found is the parser's:
    /// same name, same value, document order.
    #[test]
    fn members_agree_with_the_full_parser_on_random_documents() {
        let mut r = Rng(0x2545_F491_4F6C_DD1D);
        let (mut located, mut escaped) = (0, 0);
        let mut out = Vec::new();
        for _ in 0..20_000 {
            let mut doc = String::new();
            object(&mut r, 0, &mut doc);
            let Ok(map) = crate::format::strict_json::parse_object(doc.as_bytes()) else {
                continue;
            };
            if !members(doc.as_bytes(), &mut out) {
                // The generator's one name that is not plain.
                assert!(doc.contains(r#"{"\u0069ss""#) || doc.contains(r#","\u0069ss""#));
                escaped += 1;
                continue;
            }
            located += 1;
            assert_eq!(out.len(), map.len(), "{doc}");
            assert!(out.windows(2).all(|w| w[0].name.end < w[1].name.start));
            for m in &out {
                let expected = &map[&doc[m.name.clone()]];
                let found = match &m.value {
                    ClaimValue::Plain(r) => serde_json::Value::String(doc[r.clone()].into()),
                    ClaimValue::Integer(n) => {
                        assert!(expected.is_i64() || expected.is_u64(), "{doc}");
                        serde_json::Value::from(*n as i64)
                    }
                    ClaimValue::True => serde_json::Value::Bool(true),
                    ClaimValue::False => serde_json::Value::Bool(false),
                    ClaimValue::Null => serde_json::Value::Null,
                    ClaimValue::Json(r) => serde_json::from_str(&doc[r.clone()]).unwrap(),
                };
                assert_eq!(&found, expected, "{doc}");
            }
        }
        assert!(
            located > 2_000 && escaped > 200,
            "{located} located, {escaped} escaped"
        );
    }
}
