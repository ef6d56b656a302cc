//! Names to comparable tokens, emails to their station-free form.
//!
//! A name goes through: `Last, First` reordered; NFKD with combining marks
//! dropped (é → e); whatever is still not ASCII transliterated by
//! `deunicode` (ł, ø, æ, ß, đ, ı are not decomposable, so NFKD alone leaves
//! them); ASCII lowercase, which after transliteration *is* full case
//! folding (no Turkish rule is applied: `İ` decomposes to `I` + dot, `ı`
//! transliterates to `i`). Dots, underscores, hyphens, commas, digits and
//! spaces all separate tokens; apostrophes of every kind join (`O'Brien`,
//! `O’Brien`, `OBrien` are one token). Generational suffixes after the
//! first part, leading titles and a note in brackets after the whole name
//! are dropped. A name with a/o/u umlauts gets a second form with the
//! German transliteration (`Müller` → `muller` and `mueller`) so either
//! spelling on the other side matches exactly.
//!
//! Surname particles (`van`, `der`, `de`, `la`, `st`, …, and `d`/`o` whose
//! apostrophe was typed as a space) are written split or joined at will:
//! `van der Berg`, `Vanderberg`, `VanDerBerg`, `D Arcy`, `d'Arcy`. A name
//! with particles before another token therefore gets one more form with
//! each run of particles joined into the token after it
//! (`william van der berg` → `william vanderberg`), so a joined spelling on
//! the other side matches exactly. The split form is kept: there the
//! particles are compared as part of the surname (see `fuzzy`).

use crate::model::Email;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// One spelling of a name: lowercase ASCII tokens in given-name-first order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameForm {
    pub tokens: Vec<String>,
    /// In a form with particles joined: the index of the (last) joined
    /// token and the length of its particle prefix (`vanderberg` → 6).
    pub joined: Option<(usize, usize)>,
    /// A generational suffix the name had (`jr`, `sr`, `ii`, …): left out
    /// of the tokens, as one side often drops it, but two different ones
    /// are two people (father and son).
    pub generation: Option<&'static str>,
}

impl NameForm {
    pub fn first(&self) -> &str {
        &self.tokens[0]
    }
    pub fn last(&self) -> &str {
        &self.tokens[self.tokens.len() - 1]
    }
    /// All tokens run together (`johndoe`), for names typed without separators.
    pub fn compact(&self) -> String {
        self.tokens.concat()
    }
    /// With three parts or more, the index of the first of two surnames
    /// (`peña` in `juan peña castillo`) when that part can be one.
    pub fn first_of_two_surnames(&self) -> Option<usize> {
        let i = self.tokens.len().checked_sub(2)?;
        let t = &self.tokens[i];
        (i >= 1 && t.len() >= 2 && !is_particle(t)).then_some(i)
    }
    /// The particle prefix of token `i` when particles were joined into it.
    pub fn particles_of(&self, i: usize) -> Option<&str> {
        match self.joined {
            Some((j, len)) if j == i => Some(&self.tokens[i][..len]),
            _ => None,
        }
    }
}

/// Surname particles: joined into the next token in the joined form. The
/// one-letter ones are an apostrophe typed as a space (`D Arcy`, `O Brien`).
const PARTICLES: [&str; 22] = [
    "van", "der", "den", "de", "la", "le", "du", "des", "von", "di", "da", "del", "della", "dos",
    "das", "st", "ter", "d", "o", "mc", "mac", "dela",
];

/// A particle that is part of a surname when written split (the one-letter
/// ones are as likely an initial).
pub fn is_particle(token: &str) -> bool {
    token.len() > 1 && PARTICLES.contains(&token)
}

const SUFFIXES: [&str; 6] = ["jr", "sr", "ii", "iii", "iv", "v"];
const TITLES: [&str; 5] = ["mr", "mrs", "ms", "miss", "dr"];
const COMBINING_DIAERESIS: char = '\u{308}';

/// The spellings of `raw` (one, or two when it has umlauts); empty when
/// nothing name-like is left.
pub fn name_forms(raw: &str) -> Vec<NameForm> {
    let raw = without_trailing_note(raw);
    let repaired = mojibake_repaired(raw);
    let raw = ocr_letters(repaired.as_deref().unwrap_or(raw));
    let (plain, german) = fold_reordered(&raw);
    let mut forms = Vec::with_capacity(2);
    let mut push = |form: NameForm| {
        if !forms.iter().any(|f: &NameForm| f.tokens == form.tokens) {
            forms.push(form);
        }
    };
    // A hyphenated part written joined as well (`Ji-young` → `jiyoung`):
    // people and systems drop the hyphen of `Ji-young Kim` and
    // `Dang-Nguyen` as often as not.
    let joined_hyphens: Vec<String> = std::iter::once(&plain)
        .chain(&german)
        .filter(|t| t.contains('-'))
        .map(|t| t.replace('-', ""))
        .collect();
    for text in std::iter::once(plain).chain(german).chain(joined_hyphens) {
        let (tokens, generation) = tokenize(&text);
        if !tokens.is_empty() {
            let joined = join_particles(&tokens);
            push(NameForm {
                tokens,
                joined: None,
                generation,
            });
            if let Some(form) = joined {
                push(NameForm { generation, ..form });
            }
        }
    }
    forms
}

/// The name a person goes by, when HR wrote it in brackets or quotes
/// between the given name and the one surname: `Phong "Kevin" Huynh` and
/// `Soo-jin (Christine) Hwang` go by Kevin Huynh and Christine Hwang.
/// Nothing after the brackets (`Robert Smith (Bob)`, `Nguyen Cuc (Kelly)`,
/// `Maria Lopez (Rehire)`) says which part is the surname, or that it is a
/// name at all; a compound surname is left out too, as `David Nguyen` is
/// as likely another Nguyen, whose English name HR does not have, as Thang
/// (David) Phan-Nguyen.
pub fn preferred_name(raw: &str) -> Option<Preferred> {
    let one_word = |w: &str| !w.is_empty() && w.chars().all(char::is_alphabetic);
    [('(', ')'), ('"', '"'), ('\u{201C}', '\u{201D}')]
        .into_iter()
        .find_map(|(open, close)| {
            let (before, rest) = raw.split_once(open)?;
            let (inner, after) = rest.split_once(close)?;
            let (before, inner, after) = (before.trim(), inner.trim(), after.trim());
            (!before.is_empty() && one_word(inner) && one_word(after)).then(|| Preferred {
                name: format!("{inner} {after}"),
                without: format!("{before} {after}"),
            })
        })
}

/// `raw` without brackets that close it (`Robert Smith (Bob)`, `Maria
/// Lopez (Rehire)`): a note or a name after the whole name, no part of it;
/// left as it is when nothing comes before them.
fn without_trailing_note(raw: &str) -> &str {
    let trimmed = raw.trim_end();
    let Some(open) = trimmed.strip_suffix(')').and_then(|t| t.rfind('(')) else {
        return raw;
    };
    let before = trimmed[..open].trim_end();
    if before.is_empty() {
        raw
    } else {
        before
    }
}

/// A preferred name and the name without it.
pub struct Preferred {
    pub name: String,
    /// `Li Zhang` for `Li (Kelly) Zhang`: when that is another employee's
    /// name, either may go by the preferred one.
    pub without: String,
}

/// UTF-8 that was read as Windows-1252 somewhere on its way (`GonzÃ¡lez`,
/// `Nguyá»…n`, `AyÅŸe`), as it was: `None` when `raw` is not such text.
/// Every character must be one of Windows-1252's and their bytes valid
/// UTF-8 with at least one character beyond ASCII, which text meant as
/// Windows-1252 (`José`, `Ångström`) practically never is.
fn mojibake_repaired(raw: &str) -> Option<String> {
    if !raw.chars().any(|c| ('\u{C2}'..='\u{F4}').contains(&c)) {
        return None;
    }
    let bytes: Option<Vec<u8>> = raw.chars().map(windows_1252_byte).collect();
    let text = String::from_utf8(bytes?).ok()?;
    // `RENÉ` + a no-break space is valid UTF-8 too, read that way (`RENɠ`):
    // a repair that yields control characters, IPA letters, spacing
    // modifiers or lone combining marks was no mojibake.
    let unlikely =
        |c: char| ('\u{80}'..='\u{9F}').contains(&c) || ('\u{250}'..='\u{36F}').contains(&c);
    (!text.is_ascii() && !text.chars().any(unlikely)).then_some(text)
}

/// The Windows-1252 byte of `c`, if it has one.
fn windows_1252_byte(c: char) -> Option<u8> {
    const HIGH: [(char, u8); 27] = [
        ('€', 0x80),
        ('‚', 0x82),
        ('ƒ', 0x83),
        ('„', 0x84),
        ('…', 0x85),
        ('†', 0x86),
        ('‡', 0x87),
        ('ˆ', 0x88),
        ('‰', 0x89),
        ('Š', 0x8A),
        ('‹', 0x8B),
        ('Œ', 0x8C),
        ('Ž', 0x8E),
        ('‘', 0x91),
        ('’', 0x92),
        ('“', 0x93),
        ('”', 0x94),
        ('•', 0x95),
        ('–', 0x96),
        ('—', 0x97),
        ('˜', 0x98),
        ('™', 0x99),
        ('š', 0x9A),
        ('›', 0x9B),
        ('œ', 0x9C),
        ('ž', 0x9E),
        ('Ÿ', 0x9F),
    ];
    match u32::from(c) {
        0..=0x7F | 0xA0..=0xFF => Some(c as u8),
        // The five bytes Windows-1252 leaves undefined pass through as
        // these control characters.
        n @ (0x81 | 0x8D | 0x8F | 0x90 | 0x9D) => Some(n as u8),
        _ => HIGH.iter().find(|(h, _)| *h == c).map(|&(_, b)| b),
    }
}

/// A digit inside a word read as the letter it looks like (`Dona1d`,
/// `Th0mpson`, `5arah`): scanned or retyped names carry these, and a digit
/// never belongs in a name. Digits beside other digits or ending a word
/// (`jsmith1`, `lyang2`) are numbers and stay.
fn ocr_letters(raw: &str) -> std::borrow::Cow<'_, str> {
    if !raw.bytes().any(|b| b.is_ascii_digit()) {
        return raw.into();
    }
    let chars: Vec<char> = raw.chars().collect();
    let letter = |i: Option<usize>| {
        i.and_then(|i| chars.get(i))
            .is_some_and(|c| c.is_alphabetic())
    };
    let word_start = |i: usize| i == 0 || !chars[i - 1].is_alphanumeric();
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let look_alike = match c {
                '0' => 'o',
                '1' => 'l',
                '5' => 's',
                _ => return c,
            };
            let inside = letter(i.checked_sub(1)) || word_start(i);
            if inside && letter(Some(i + 1)) {
                look_alike
            } else {
                c
            }
        })
        .collect::<String>()
        .into()
}

/// The form with every run of particles joined into the token after it;
/// None when there is none, or when nothing but one token would be left
/// (`Van Morrison`, `De La Hoya` may be a given name or a bare surname).
fn join_particles(tokens: &[String]) -> Option<NameForm> {
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut run = String::new();
    let mut joined = None;
    for t in tokens {
        if PARTICLES.contains(&t.as_str()) {
            run.push_str(t);
        } else if run.is_empty() {
            out.push(t.clone());
        } else {
            joined = Some((out.len(), run.len()));
            out.push(std::mem::take(&mut run) + t);
        }
    }
    // Particles at the end (`Berg William van der`) have nothing to join.
    (joined.is_some() && run.is_empty() && out.len() >= 2).then_some(NameForm {
        tokens: out,
        joined,
        generation: None,
    })
}

/// Fold `raw`, moving the part after the first comma in front (`Doe, John`),
/// unless it is only a suffix (`Doe, Jr.`). Returns the plain folding and,
/// when it differs, the German one.
fn fold_reordered(raw: &str) -> (String, Option<String>) {
    let (mut plain, mut german) = (String::new(), String::new());
    let umlaut = match raw.split_once(',') {
        Some((before, after)) if !only_suffixes(after) => {
            let a = fold_into(after, &mut plain, &mut german);
            plain.push(' ');
            german.push(' ');
            a | fold_into(before, &mut plain, &mut german)
        }
        _ => fold_into(raw, &mut plain, &mut german),
    };
    (plain, umlaut.then_some(german))
}

fn only_suffixes(text: &str) -> bool {
    let (folded, _) = fold(text);
    let all = tokenize_raw(&folded).all(|t| SUFFIXES.contains(&t));
    all
}

/// The plain folding of `text` and whether it had a/o/u umlauts.
pub fn fold(text: &str) -> (String, bool) {
    let (mut plain, mut german) = (String::new(), String::new());
    let umlaut = fold_into(text, &mut plain, &mut german);
    (plain, umlaut)
}

/// Append the folding of `text` to `plain` and its German variant to
/// `german`; true when an umlaut made them differ.
fn fold_into(text: &str, plain: &mut String, german: &mut String) -> bool {
    let mut umlaut = false;
    for c in text.nfkd() {
        if is_combining_mark(c) {
            if c == COMBINING_DIAERESIS && matches!(plain.chars().last(), Some('a' | 'o' | 'u')) {
                german.push('e');
                umlaut = true;
            }
            continue;
        }
        if c.is_ascii() {
            push_ascii(c, plain, german);
        } else if is_apostrophe(c) {
            // Joined, like the ASCII one.
        } else if let Some(s) = deunicode::deunicode_char(c) {
            s.chars().for_each(|a| push_ascii(a, plain, german));
        } else {
            plain.push(' ');
            german.push(' ');
        }
    }
    umlaut
}

fn push_ascii(c: char, plain: &mut String, german: &mut String) {
    let out = match c {
        'a'..='z' => c,
        'A'..='Z' => c.to_ascii_lowercase(),
        '\'' | '`' => return,
        // Kept to tell a hyphenated part (see `name_forms`); a separator
        // like a space for the tokens.
        '-' => '-',
        _ => ' ',
    };
    plain.push(out);
    german.push(out);
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{00B4}' | '\u{02B9}' | '\u{FF07}'
    )
}

fn tokenize_raw(folded: &str) -> impl Iterator<Item = &str> {
    folded.split([' ', '-']).filter(|t| !t.is_empty())
}

/// The tokens, titles and generational suffixes left out, and the
/// (last) suffix.
fn tokenize(folded: &str) -> (Vec<String>, Option<&'static str>) {
    let mut tokens: Vec<&str> = tokenize_raw(folded).collect();
    while tokens.len() > 2 && TITLES.contains(&tokens[0]) {
        tokens.remove(0);
    }
    let mut generation = None;
    if tokens.len() > 1 {
        // A suffix follows a name: a first part of one letter is the given
        // name's initial (`V. Cruz`).
        let first = tokens[0];
        let mut at = 0;
        tokens.retain(|t| {
            at += 1;
            match SUFFIXES.iter().find(|s| *s == t) {
                _ if at == 1 && t.len() == 1 => true,
                // `V` is as often a middle initial (`Robert V Stone`): left
                // out as before, but no generation to hold against a name.
                Some(&"v") => false,
                Some(s) => {
                    generation = Some(*s);
                    false
                }
                None => true,
            }
        });
        if tokens.is_empty() {
            tokens.push(first);
            generation = None;
        }
    }
    (tokens.into_iter().map(str::to_string).collect(), generation)
}

/// The email with a `+tag` and one known station marker removed from its
/// local part, with what was removed; None when there was nothing to
/// remove. A marker is a station suffix (`.shp`, `_pack`, `-hp`), maybe
/// numbered (`.shp2`: shipping station 2), at the end of the local part or,
/// with a separator after it, at its start (`shp.john.doe`).
pub fn strip_station(email: &Email, suffixes: &[String]) -> Option<(String, String)> {
    let (local, domain) = (email.local_part(), email.domain());
    let mut base = local;
    let mut removed = String::new();
    if let Some((before, tag)) = base.split_once('+') {
        if !before.is_empty() {
            removed.push('+');
            removed.push_str(tag);
            base = before;
        }
    }
    let is_sep = |c: char| matches!(c, '.' | '_' | '-');
    for suffix in suffixes {
        let suffix = suffix.trim().trim_start_matches(['.', '_', '-']);
        if suffix.is_empty() {
            continue;
        }
        // `<name><sep><suffix><digits>` (the suffix itself may end in one)
        let unnumbered = base.trim_end_matches(|c: char| c.is_ascii_digit());
        if let Some(head) = [base, unnumbered]
            .into_iter()
            .find_map(|b| strip_suffix_ignore_case(b, suffix))
            .and_then(|h| h.strip_suffix(is_sep))
            .filter(|h| !h.is_empty())
        {
            removed.insert_str(0, &base[head.len()..]);
            base = head;
            break;
        }
        // `<suffix><digits><sep><name>`; not for two letters, which are as
        // likely initials (`hp.smith` is Harry P. Smith).
        if let Some(rest) = (suffix.len() > 2)
            .then(|| strip_prefix_ignore_case(base, suffix))
            .flatten()
            .map(|r| r.trim_start_matches(|c: char| c.is_ascii_digit()))
            .and_then(|r| r.strip_prefix(is_sep))
            .filter(|r| !r.is_empty())
        {
            removed.insert_str(0, &base[..base.len() - rest.len()]);
            base = rest;
            break;
        }
    }
    (!removed.is_empty()).then(|| (format!("{base}@{domain}"), removed))
}

/// The email without a two-letter station marker written first (`hp.` in
/// `hp.elena.garcia`, maybe numbered), which [`strip_station`] leaves: it
/// reads as well as initials (`hp.smith` is Harry P. Smith), so it is
/// evidence only where the name agrees.
pub fn strip_short_station_prefix(email: &Email, suffixes: &[String]) -> Option<(String, String)> {
    let local = email.local_part();
    suffixes
        .iter()
        .map(|s| s.trim().trim_start_matches(['.', '_', '-']))
        .filter(|s| s.len() == 2)
        .find_map(|suffix| {
            let rest = strip_prefix_ignore_case(local, suffix)?
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .strip_prefix(['.', '_', '-'])
                .filter(|r| !r.is_empty())?;
            let removed = &local[..local.len() - rest.len()];
            Some((format!("{rest}@{}", email.domain()), removed.to_string()))
        })
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let at = s.len().checked_sub(suffix.len())?;
    s.get(at..)?.eq_ignore_ascii_case(suffix).then(|| &s[..at])
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    s.get(..prefix.len())?
        .eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Providers where anyone may open a mailbox (by the domain's first label,
/// so `yahoo.co.uk` and `hotmail.fr` count): an address there names no
/// employer, and its local part often spells the person's name.
const PERSONAL_PROVIDERS: [&str; 20] = [
    "gmail",
    "googlemail",
    "yahoo",
    "ymail",
    "hotmail",
    "outlook",
    "live",
    "msn",
    "aol",
    "icloud",
    "me",
    "mac",
    "protonmail",
    "proton",
    "gmx",
    "mail",
    "yandex",
    "zoho",
    "comcast",
    "att",
];

pub fn is_personal_domain(domain: &str) -> bool {
    let label = domain.split('.').next().unwrap_or("");
    PERSONAL_PROVIDERS.contains(&label)
}

/// The name a personal mailbox's local part spells, digits and a `+tag`
/// left out: `(separated, run_together)`. `ruby.masoin65` spells
/// `ruby masoin` (and `rubymasoin`); `rubymasoin65` only `rubymasoin`, which
/// cannot tell Ruby Masoin from Ruby Masoin Ortiz, so a run-together
/// spelling is only ever evidence against (see `assign`). Too little left
/// to be a name (`sg12`, `j.s`) spells nothing.
pub fn local_part_names(email: &Email) -> (Vec<NameForm>, Vec<NameForm>) {
    let local = email.local_part();
    let local = local.split_once('+').map_or(local, |(l, _)| l);
    let spaced: String = local
        .chars()
        .map(|c| if c.is_ascii_alphabetic() { c } else { ' ' })
        .collect();
    let mut separated = name_forms(&spaced);
    separated.retain(|f| f.tokens.iter().all(|t| t.len() >= 2));
    let mut together: Vec<NameForm> = Vec::new();
    for f in &separated {
        let compact = f.compact();
        if compact.len() >= 6 && !together.iter().any(|g| g.tokens[0] == compact) {
            together.push(NameForm {
                tokens: vec![compact],
                joined: None,
                generation: None,
            });
        }
    }
    separated.retain(|f| f.tokens.len() >= 2);
    (separated, together)
}

/// The given name and surname a mailbox's local part spells when written
/// as separated words (`rachel.moore`, `mary_ann.smith-jones` gives
/// (mary, jones)): None for `rmoore`, digits, or a part under two letters.
pub fn mailbox_name(email: &Email) -> Option<(String, String)> {
    let parts: Vec<&str> = email
        .local_part()
        .split(['.', '_', '-'])
        .filter(|p| !p.is_empty())
        .collect();
    let ok = parts.len() >= 2
        && parts
            .iter()
            .all(|p| p.len() >= 2 && p.bytes().all(|b| b.is_ascii_alphabetic()));
    ok.then(|| (parts[0].to_string(), parts[parts.len() - 1].to_string()))
}

/// Lowercase tokens of a department, role code or PodFactory role reduced
/// to station stems, so `Picking`, `PICKER` and `Picker` agree. A station
/// named to be denied (`not shipping`, `non-pick`, `x-shipping`, `former
/// shipper`, `pre-press`, `shipping (former)`, `Packer (ex)`) is none.
pub fn hint_stems(texts: &[&str]) -> Vec<&'static str> {
    const DENIED_BEFORE: [&str; 12] = [
        "not",
        "non",
        "no",
        "ex",
        "x",
        "was",
        "former",
        "formerly",
        "previously",
        "pre",
        "without",
        "except",
    ];
    const DENIED_AFTER: [&str; 6] = ["not", "no", "ex", "former", "formerly", "previously"];
    let mut stems = Vec::new();
    for text in texts {
        let (folded, _) = fold(text);
        let tokens: Vec<&str> = tokenize_raw(&folded).collect();
        let mut i = 0;
        while i < tokens.len() {
            let next = tokens.get(i + 1).copied().unwrap_or("");
            let Some((stem, words)) = station_stem(tokens[i], next) else {
                i += 1;
                continue;
            };
            let before = i.checked_sub(1).map(|b| tokens[b]);
            // Denied after only by the text's last word: in `packer, not
            // shipping` the `not` is shipping's.
            let after = (i + words + 1 == tokens.len()).then(|| tokens[i + words]);
            let denied = before.is_some_and(|w| DENIED_BEFORE.contains(&w))
                || after.is_some_and(|w| DENIED_AFTER.contains(&w));
            if !denied && !stems.contains(&stem) {
                stems.push(stem);
            }
            i += words;
        }
    }
    stems
}

/// The station a token names, and how many words name it (`heat press`:
/// two): a word starting with a stem of four letters or more (`picking`,
/// `shipper`), or a short code as a word of its own (`hp`, `shp`, `inv`:
/// `invoice` is no inventory, `hpe` no press).
fn station_stem(token: &str, next: &str) -> Option<(&'static str, usize)> {
    const STEMS: [(&str, &str); 19] = [
        ("pick", "pick"),
        ("pack", "pack"),
        ("ship", "ship"),
        ("shp", "ship"),
        ("hp", "press"),
        ("press", "press"),
        ("print", "print"),
        ("qc", "quality"),
        ("quality", "quality"),
        ("inspect", "quality"),
        ("maint", "maint"),
        ("inv", "inventory"),
        ("invent", "inventory"),
        ("recv", "receive"),
        ("receiv", "receive"),
        ("cs", "service"),
        ("customer", "service"),
        ("hr", "hr"),
        ("human", "hr"),
    ];
    if token == "heat" && next.starts_with("press") {
        return Some(("press", 2));
    }
    STEMS
        .iter()
        .find(|(stem, _)| match stem.len() > 3 {
            true => token.starts_with(stem),
            false => token == *stem,
        })
        .map(|(_, station)| (*station, 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(raw: &str) -> Vec<Vec<String>> {
        name_forms(raw).into_iter().map(|f| f.tokens).collect()
    }
    fn one(raw: &str) -> String {
        name_forms(raw)[0].tokens.join(" ")
    }

    #[test]
    fn diacritics_fold_and_undecomposable_letters_transliterate() {
        assert_eq!(one("José Núñez"), "jose nunez");
        assert_eq!(one("Łukasz Wójcik"), "lukasz wojcik");
        assert_eq!(one("Søren Ærø"), "soren aero");
        assert_eq!(one("Đorđe Straße"), "dorde strasse");
        assert_eq!(one("Işıl Yılmaz"), "isil yilmaz");
    }

    #[test]
    fn case_folding_is_not_turkish_and_not_just_lowercase() {
        // İ must not become "i̇" (i + combining dot) and must not be special-cased.
        assert_eq!(one("İBRAHİM KAYA"), "ibrahim kaya");
        assert_eq!(one("GROSSE"), one("Große"));
        // Full-width compatibility forms fold by NFKD.
        assert_eq!(one("ＪＯＨＮ Doe"), "john doe");
    }

    #[test]
    fn umlauts_give_both_transliterations() {
        assert_eq!(
            toks("Jürgen Müller"),
            vec![vec!["jurgen", "muller"], vec!["juergen", "mueller"]]
        );
        // Decomposed input (u + U+0308) behaves the same.
        assert_eq!(toks("Mu\u{308}ller").len(), 2);
        assert_eq!(toks("Mueller"), vec![vec!["mueller"]]);
    }

    #[test]
    fn separators_and_order() {
        for raw in [
            "John Doe",
            "john.doe",
            "john_doe",
            "JOHN-DOE",
            "Doe, John",
            " DOE ,  john ",
        ] {
            assert_eq!(one(raw), "john doe", "{raw}");
        }
        assert_eq!(one("Doe Jr., John"), "john doe");
        assert_eq!(one("John Doe, Jr."), "john doe");
        assert_eq!(one("Dr. John Q. Doe III"), "john q doe");
        assert_eq!(one("Mary-Jane Smith-Jones"), "mary jane smith jones");
    }

    #[test]
    fn apostrophes_of_every_kind_join() {
        assert_eq!(one("Sean O'Brien"), "sean obrien");
        assert_eq!(one("Sean O’Brien"), "sean obrien");
        assert_eq!(one("Sean OBrien"), "sean obrien");
        assert_eq!(one("D`Angelo Ray"), "dangelo ray");
    }

    #[test]
    fn particles_get_a_joined_form() {
        let joined = |raw: &str| {
            name_forms(raw)
                .iter()
                .find(|f| f.joined.is_some())
                .map(|f| f.tokens.join(" "))
        };
        for raw in [
            "William van der Berg",
            "William Van Der Berg",
            "Berg, William van der",
            "WILLIAM VAN-DER-BERG",
        ] {
            assert_eq!(one(raw), "william van der berg", "{raw}");
            assert_eq!(joined(raw).as_deref(), Some("william vanderberg"), "{raw}");
        }
        // Joined already: one form, the same tokens.
        assert_eq!(
            toks("William VanDerBerg"),
            vec![vec!["william", "vanderberg"]]
        );
        assert_eq!(
            toks("william.vanderberg"),
            vec![vec!["william", "vanderberg"]]
        );
        assert_eq!(joined("Jean D Arcy").as_deref(), Some("jean darcy"));
        assert_eq!(one("Jean d'Arcy"), "jean darcy");
        assert_eq!(joined("Sean O Brien").as_deref(), Some("sean obrien"));
        assert_eq!(
            joined("Maria de la Cruz").as_deref(),
            Some("maria delacruz")
        );
        assert_eq!(
            joined("Theresa St. John").as_deref(),
            Some("theresa stjohn")
        );
        // Surname first without a comma: the particles still join.
        assert_eq!(
            joined("van der Berg William").as_deref(),
            Some("vanderberg william")
        );
        let f = name_forms("William van der Berg");
        assert_eq!(f[1].particles_of(1), Some("vander"));
        assert_eq!(f[1].particles_of(0), None);
        // Nothing to join, or nothing but one token left.
        assert_eq!(joined("Van Morrison"), None);
        assert_eq!(joined("John Berg van der"), None);
        assert_eq!(joined("John Smith"), None);
        // Umlauts and particles: both transliterations, each joined.
        assert_eq!(name_forms("Jürgen von Müller").len(), 4);
        assert!(is_particle("van") && !is_particle("d") && !is_particle("vance"));
    }

    #[test]
    fn nothing_left_is_no_form() {
        assert!(name_forms("").is_empty());
        assert!(name_forms(" 123 - . ").is_empty());
        assert_eq!(one("Jr"), "jr");
        assert_eq!(one("Jr. III"), "jr");
    }

    #[test]
    fn a_preferred_name_in_brackets_or_quotes() {
        let p = |raw: &str| preferred_name(raw).map(|p| p.name);
        assert_eq!(p("Phong \"Kevin\" Huynh").as_deref(), Some("Kevin Huynh"));
        assert_eq!(
            p("Soo-jin (Christine) Hwang").as_deref(),
            Some("Christine Hwang")
        );
        assert_eq!(
            p("Jian \u{201C}David\u{201D} Feng").as_deref(),
            Some("David Feng")
        );
        // Unbalanced quotes, and brackets after them that are.
        assert_eq!(p("Ana \"Nita (Anita) Ruiz").as_deref(), Some("Anita Ruiz"));
        let li = preferred_name("Li (Kelly) Zhang").unwrap();
        assert_eq!(
            name_forms(&li.without)[0].tokens,
            name_forms("ZHANG, LI")[0].tokens
        );
        // Nothing to go by: no brackets, nothing before or in them, nothing
        // after them to be the surname (a note, or a name in either
        // order), a compound surname, middles, no letters.
        for raw in [
            "John Smith",
            "(Kelly) Nguyen",
            "Jane () Doe",
            "Robert Smith (Bob)",
            "Nguyen Cuc (Kelly)",
            "Maria Lopez (Rehire)",
            "Thang (David) Phan-Nguyen",
            "Hoa (Jenny) Kim Nguyen",
            "Phong (Kevin) 2",
            "Mary (2nd) Jones",
            "\"",
        ] {
            assert_eq!(p(raw), None, "{raw}");
        }
    }

    #[test]
    fn a_note_after_the_whole_name_is_no_part_of_it() {
        assert_eq!(one("Robert Smith (Bob)"), "robert smith");
        assert_eq!(one("Maria Lopez (Rehire) "), "maria lopez");
        assert_eq!(one("Soo-jin (Christine) Hwang"), "soo jin christine hwang");
        assert_eq!(one("(Temp)"), "temp");
    }

    #[test]
    fn a_suffix_follows_a_name() {
        // First, the letter is the given name's initial.
        assert_eq!(one("V. Cruz"), "v cruz");
        assert_eq!(one("Stone, Jr., Robert"), "robert stone");
        assert_eq!(one("Robert V Stone"), "robert stone");
        assert_eq!(one("Robert Stone Jr."), "robert stone");
        assert_eq!(name_forms("Stone, Robert Jr")[0].generation, Some("jr"));
    }

    fn strip(e: &str) -> Option<(String, String)> {
        let suffixes: Vec<String> = ["shp", "ship", "pack", "pick", "hp"]
            .map(String::from)
            .to_vec();
        strip_station(&Email::parse(e).unwrap(), &suffixes)
    }

    #[test]
    fn station_suffixes_and_tags_are_stripped() {
        assert_eq!(
            strip("john.doe.shp@x.com"),
            Some(("john.doe@x.com".into(), ".shp".into()))
        );
        assert_eq!(strip("John.Doe.SHIP@x.com").unwrap().0, "john.doe@x.com");
        assert_eq!(strip("john.doe_pack@x.com").unwrap().0, "john.doe@x.com");
        assert_eq!(strip("john.doe-hp@x.com").unwrap().0, "john.doe@x.com");
        assert_eq!(
            strip("john.doe+floor2@x.com"),
            Some(("john.doe@x.com".into(), "+floor2".into()))
        );
        assert_eq!(strip("john.doe.pick+a@x.com").unwrap().0, "john.doe@x.com");
        // Numbered stations, and the marker written first.
        assert_eq!(
            strip("john.doe.shp2@x.com"),
            Some(("john.doe@x.com".into(), ".shp2".into()))
        );
        assert_eq!(
            strip("shp.jdoe@x.com"),
            Some(("jdoe@x.com".into(), "shp.".into()))
        );
        assert_eq!(strip("Pick3_john.doe@x.com").unwrap().0, "john.doe@x.com");
        // A configured suffix that ends in a digit is still a suffix.
        let numbered = ["shp2".to_string()];
        let e = Email::parse("john.doe.shp2@x.com").unwrap();
        assert_eq!(strip_station(&e, &numbered).unwrap().0, "john.doe@x.com");
        // Not a suffix: part of the name, or the whole local part.
        assert_eq!(strip("philip@x.com"), None);
        assert_eq!(strip("jhp@x.com"), None);
        assert_eq!(strip("shp@x.com"), None);
        assert_eq!(strip(".shp@x.com"), None);
        assert_eq!(strip("john.doe@x.com"), None);
        assert_eq!(strip("shipley.dan@x.com"), None);
        assert_eq!(strip("john.doe2@x.com"), None);
        // Two letters first: left to the name (see strip_short_station_prefix).
        assert_eq!(strip("hp.smith@x.com"), None);
        let short = |e: &str| {
            let suffixes = ["shp", "hp"].map(String::from);
            strip_short_station_prefix(&Email::parse(e).unwrap(), &suffixes)
        };
        assert_eq!(
            short("HP2.elena.garcia@x.com"),
            Some(("elena.garcia@x.com".into(), "hp2.".into()))
        );
        assert_eq!(short("hp_smith@x.com").unwrap().0, "smith@x.com");
        assert_eq!(short("shp.smith@x.com"), None);
        assert_eq!(short("hpsmith@x.com"), None);
        assert_eq!(short("hp.@x.com"), None);
        assert_eq!(strip("shp2@x.com"), None);
        assert_eq!(strip("hp.smith@x.com"), None);
    }

    #[test]
    fn hints_reduce_to_stations() {
        assert_eq!(hint_stems(&["Picking", "PICKER"]), vec!["pick"]);
        assert_eq!(hint_stems(&["Heat Press"]), vec!["press"]);
        assert_eq!(hint_stems(&["HEAT_PRESS"]), vec!["press"]);
        assert_eq!(hint_stems(&["HP"]), vec!["press"]);
        assert_eq!(hint_stems(&["Shipping"]), hint_stems(&["shipper"]));
        assert!(hint_stems(&["Office", "OFFICE_ADMIN"]).is_empty());
        // Short codes as they are, maybe numbered; no word that merely
        // starts with one.
        assert_eq!(hint_stems(&["INV"]), vec!["inventory"]);
        assert_eq!(hint_stems(&["Inventory"]), vec!["inventory"]);
        assert_eq!(hint_stems(&["SHP2"]), vec!["ship"]);
        assert!(hint_stems(&["Invoicing", "HPE support", "CSR"]).is_empty());
        // A station denied is none, the word before or after it.
        for denied in [
            "not shipping",
            "Non-Pick",
            "ex-packer",
            "x-shipping",
            "was shipping",
            "former shipper",
            "Pre-Press",
            "not heat press",
            "shipping (former)",
            "Packer (ex)",
            "shipping no",
        ] {
            assert!(hint_stems(&[denied]).is_empty(), "{denied}");
        }
        assert_eq!(hint_stems(&["packer, not shipping"]), vec!["pack"]);
        assert_eq!(hint_stems(&["packer, ex-shipping"]), vec!["pack"]);
    }

    #[test]
    fn utf8_read_as_windows_1252_is_read_again() {
        assert_eq!(one("Estela GonzÃ¡lez"), "estela gonzalez");
        assert_eq!(one("Lily Nguyá»…n"), "lily nguyen");
        assert_eq!(one("AyÅŸe YÄ±lmaz"), "ayse yilmaz");
        assert_eq!(one("ValentÃ\u{AD}n  Figueroa"), "valentin figueroa");
        // Text meant as Windows-1252 or Latin-1 stays as it is.
        assert_eq!(mojibake_repaired("José Ñúñez"), None);
        assert_eq!(mojibake_repaired("Ångström Ø"), None);
        assert_eq!(mojibake_repaired("Zoë Wiśniewska"), None);
        assert_eq!(mojibake_repaired("Plain Name"), None);
    }

    #[test]
    fn a_hyphenated_part_is_also_written_joined() {
        assert_eq!(
            toks("Ji-young Kim"),
            vec![vec!["ji", "young", "kim"], vec!["jiyoung", "kim"]]
        );
        assert_eq!(toks("KIM JI-YOUNG")[1], vec!["kim", "jiyoung"]);
        assert_eq!(
            toks("Thao Dang\u{2010}Nguyen")[1],
            vec!["thao", "dangnguyen"]
        );
        // A hyphen standing alone separates, and joins nothing.
        assert_eq!(toks("Ana - Ruiz"), vec![vec!["ana", "ruiz"]]);
    }
}
