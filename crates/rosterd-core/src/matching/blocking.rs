//! Candidate blocking: which employees a PodFactory name is scored against.
//!
//! Scoring every pair is employees × users (10¹⁰ at 100,000 each). Instead
//! every name is indexed under several keys, each a (given-name part,
//! surname part) pair that survives one kind of error, and a user is
//! scored only against employees sharing at least one key. One key alone
//! loses true pairs (a typo in the first letters, a nickname, an initial),
//! so the union of keys is taken:
//!
//! | key | given part | surname part | survives |
//! |-----|------------|--------------|----------|
//! | A | name or its formal names | phonetic code | surname typos, nicknames |
//! | B | name or its formal names | first 3 letters | surname typos at the end |
//! | E | name or its formal names | last 3 letters | surname typos at the start |
//! | F | name or its formal names | its letters sorted | transposed letters anywhere (`Wagn`) |
//! | C | phonetic code | exact | given-name typos |
//! | D | first letter | exact | initials, short forms, unknown nicknames |
//! | G | phonetic code | phonetic code | a typo in each (`Jonh Smiht`) |
//! | J, K, L | itself or less any one letter | first 3 (J), last 3 (K), or first 2 + last 2 letters (L) | a typo in each that changes a sound (`Rxhul Chopraa`, `Juna Waoker`) |
//! | H | name or its formal names | first 2 + last 2 letters | an edit mid-way in a short surname (`Evqns`, `Evns`) |
//! | I | first 2 + last 2 letters | exact | an edit mid-way in a given name (`Rahcel`) |
//! | M | name or its formal names | a surname of 3 to 5 letters, itself or less any one letter | any one slip in a short surname (`Wahg`, `Wng`, `Waong` for Wang) |
//! | X | whole name run together | | `johndoe`, mononyms |
//!
//! Keys are taken from every form of a name, so a name with surname
//! particles is also indexed (and looked up) with them joined
//! (`william vanderberg`): `van der Berg`, `Vanderberg` and `VanDerBerg William`
//! share the keys of their joined forms, and a name written without its
//! particles (`William Berg`) still meets the split form's (given, last) keys.
//!
//! Each key pairs two name parts, so no block is "everyone called John";
//! a block is at most the people sharing a surname and an initial, or
//! (J, K, L) a given name within one letter and a surname's ends. A block
//! larger than `max_block` (a workforce of identical names) is not scored;
//! the users who hit one are reported ambiguous, never linked on the rest.

use super::fuzzy::given_groups;
use super::normalize::NameForm;
use rustc_hash::FxHasher;
use std::hash::Hasher;

/// (key, employee) pairs sorted by key: one allocation for the whole
/// index, where a map of lists took one per key (most keys are one
/// employee's alone). `starts` finds a key's neighbourhood by its top
/// bits (keys are hashes), so a lookup reads two places, not a binary
/// search's twenty.
#[derive(Debug, Default)]
pub struct BlockIndex {
    entries: Vec<(u64, u32)>,
    starts: Vec<u32>,
    shift: u32,
}

impl BlockIndex {
    /// Index employee `idx` under `keys` (from [`employee_keys`] of each
    /// of its names), each once. [`BlockIndex::finish`] before any lookup.
    pub fn add(&mut self, idx: u32, mut keys: Vec<u64>) {
        keys.sort_unstable();
        keys.dedup();
        self.entries.extend(keys.into_iter().map(|k| (k, idx)));
    }

    pub fn finish(&mut self) {
        self.entries.sort_unstable();
        self.entries.shrink_to_fit();
        // About four entries per bucket.
        let bits = (self
            .entries
            .len()
            .max(4)
            .next_power_of_two()
            .trailing_zeros()
            - 2)
        .max(1);
        self.shift = 64 - bits;
        self.starts = vec![0; (1 << bits) + 1];
        for &(k, _) in &self.entries {
            self.starts[(k >> self.shift) as usize + 1] += 1;
        }
        for b in 1..self.starts.len() {
            self.starts[b] += self.starts[b - 1];
        }
    }

    fn block(&self, key: u64) -> &[(u64, u32)] {
        let b = (key >> self.shift) as usize;
        let bucket = &self.entries[self.starts[b] as usize..self.starts[b + 1] as usize];
        let from = bucket.partition_point(|&(k, _)| k < key);
        let len = bucket[from..].partition_point(|&(k, _)| k == key);
        &bucket[from..from + len]
    }

    /// The employees sharing a key with any of `forms`, sorted, into `out`;
    /// false when a block over `max_block` had to be skipped.
    pub fn candidates(
        &self,
        forms: &[NameForm],
        max_block: usize,
        out: &mut Vec<u32>,
        scratch: &mut Vec<u64>,
    ) -> bool {
        out.clear();
        scratch.clear();
        forms.iter().for_each(|f| user_keys(f, scratch));
        scratch.sort_unstable();
        scratch.dedup();
        let mut complete = true;
        for &k in scratch.iter() {
            let block = self.block(k);
            if block.len() > max_block {
                complete = false;
            } else {
                out.extend(block.iter().map(|&(_, i)| i));
            }
        }
        out.sort_unstable();
        out.dedup();
        complete
    }
}

/// Employees: every (given, surname) reading the scorer considers — the
/// given name or a middle name, the surname or the first of two.
pub fn employee_keys(form: &NameForm, out: &mut Vec<u64>) {
    let t = &form.tokens;
    out.push(key(b'X', &[&form.compact()]));
    let n = t.len();
    if n < 2 {
        return;
    }
    if n > 2 {
        out.push(key(b'X', &[form.first(), form.last()]));
    }
    typo_keys(&t[0], &t[n - 1], out);
    if n >= 3 {
        typo_keys(&t[0], &t[n - 2], out);
    }
    for g in 0..n - 1 {
        if g > 0 && t[g].len() < 2 {
            continue;
        }
        pair_keys(&t[g], &t[n - 1], out);
        if n >= 3 && g < n - 2 && t[n - 2].len() >= 2 {
            pair_keys(&t[g], &t[n - 2], out);
        }
    }
}

/// PodFactory users: first and last token, the first and the first of two
/// surnames (`Juan Peña Castillo`), and last and first (`Doe John` without
/// the comma, `Tran Huu Quang`).
fn user_keys(form: &NameForm, out: &mut Vec<u64>) {
    out.push(key(b'X', &[&form.compact()]));
    let t = &form.tokens;
    let n = t.len();
    if n < 2 {
        return;
    }
    pair_keys(form.first(), form.last(), out);
    typo_keys(form.first(), form.last(), out);
    // Swapped: two parts, or family name first with the middles between.
    pair_keys(form.last(), form.first(), out);
    if let Some(i) = form.first_of_two_surnames() {
        pair_keys(form.first(), &t[i], out);
        typo_keys(form.first(), &t[i], out);
    }
}

fn pair_keys(given: &str, family: &str, out: &mut Vec<u64>) {
    let fp = phonetic(family).to_le_bytes();
    let (head, tail) = (prefix(family, 3), suffix(family, 3));
    // Sorted on the stack: names are short, and this runs for every key.
    let mut buf = [0u8; 32];
    let letters = &mut buf[..family.len().min(32)];
    letters.copy_from_slice(&family.as_bytes()[..letters.len()]);
    letters.sort_unstable();
    // Ends kept, middle dropped: an edit in the middle of a short
    // surname (`Evqns`, `Evns`) changes both its first and last three.
    let ends = [prefix(family, 2), suffix(family, 2)].concat();
    let short = short_surname_variants(family);
    for g in given_groups(given) {
        out.push(key(b'A', &[g.as_bytes(), &fp[..]]));
        out.push(key(b'B', &[g, head]));
        out.push(key(b'E', &[g, tail]));
        out.push(key(b'F', &[g.as_bytes(), &*letters]));
        if family.len() >= 4 {
            out.push(key(b'H', &[g, ends.as_str()]));
        }
        for (letters, n) in &short {
            out.push(key(b'M', &[g.as_bytes(), &letters[..*n]]));
        }
    }
    if given.len() >= 4 {
        let given_ends = [prefix(given, 2), suffix(given, 2)].concat();
        out.push(key(b'I', &[given_ends.as_str(), family]));
    }
    let gp = phonetic(given).to_le_bytes();
    out.push(key(b'C', &[&gp[..], family.as_bytes()]));
    out.push(key(b'G', &[gp, fp]));
    out.push(key(b'D', &[prefix(given, 1), family]));
}

/// A short surname with one letter changed, dropped, added, or two
/// swapped (`Wahg`, `Wsng`, `Wng`, `Waong`, `Wnag` for Wang) changes its
/// first and last three letters and its ends at once: the two spellings
/// share the surname itself or it less one letter. Three letters: itself;
/// four: itself and each less one letter; five: each less one letter.
fn short_surname_variants(family: &str) -> Vec<([u8; 5], usize)> {
    let b = family.as_bytes();
    let mut out = Vec::new();
    if !(3..=5).contains(&b.len()) {
        return out;
    }
    let mut whole = [0u8; 5];
    whole[..b.len()].copy_from_slice(b);
    if b.len() <= 4 {
        out.push((whole, b.len()));
    }
    if b.len() >= 4 {
        for skip in 0..b.len() {
            let mut less = [0u8; 5];
            let n = less_one_letter(b, skip, &mut less);
            if !out.contains(&(less, n)) {
                out.push((less, n));
            }
        }
    }
    out
}

/// `word` less the letter at `skip` (none when `skip` is past its end),
/// written into `out`: how many letters that leaves.
fn less_one_letter(word: &[u8], skip: usize, out: &mut [u8]) -> usize {
    let mut n = 0;
    for (i, &c) in word.iter().enumerate() {
        if i != skip {
            out[n] = c;
            n += 1;
        }
    }
    n
}

/// A typo in both parts: two spellings one edit apart share the longer
/// less one letter (or the shorter itself), and one edit leaves the
/// surname's first three, last three or outer two + two letters. Only for
/// the given name with the surname or the first of two, and for parts long enough to be a typo
/// ([`typo`](super::fuzzy::typo) needs four letters): this is the widest
/// key, about twenty per name.
fn typo_keys(given: &str, family: &str, out: &mut Vec<u64>) {
    if given.len() < 4 || family.len() < 4 || given.len() > 32 {
        return;
    }
    let ends = [prefix(family, 2), suffix(family, 2)].concat();
    let surname = [
        (b'J', prefix(family, 3)),
        (b'K', suffix(family, 3)),
        (b'L', &ends),
    ];
    let mut less = [0u8; 32];
    // `skip == len` drops no letter.
    for skip in 0..=given.len() {
        let n = less_one_letter(given.as_bytes(), skip, &mut less);
        for (tag, part) in surname {
            out.push(key(tag, &[&less[..n], part.as_bytes()]));
        }
    }
}

fn prefix(s: &str, n: usize) -> &str {
    &s[..n.min(s.len())]
}

fn suffix(s: &str, n: usize) -> &str {
    &s[s.len() - n.min(s.len())..]
}

fn key<T: AsRef<[u8]>>(tag: u8, parts: &[T]) -> u64 {
    let mut h = FxHasher::default();
    h.write_u8(tag);
    for p in parts {
        h.write(p.as_ref());
        h.write_u8(0xff);
    }
    h.finish()
}

/// A Soundex-like code of a lowercase ASCII token in which the first letter
/// is coded like the others (so `Catherine`/`Katherine` and
/// `Philips`/`Filips` agree), vowels only separate repeats, and up to six
/// consonant classes are kept. Packed in a u32, computed without allocating.
pub fn phonetic(s: &str) -> u32 {
    let mut code: u32 = 0;
    let mut len = 0;
    let mut last = u32::MAX;
    for (i, b) in s.bytes().enumerate() {
        let class: u32 = match b {
            b'b' | b'f' | b'p' | b'v' => 1,
            b'c' | b'g' | b'j' | b'k' | b'q' | b's' | b'x' | b'z' => 2,
            b'd' | b't' => 3,
            b'l' => 4,
            b'm' | b'n' => 5,
            b'r' => 6,
            b'h' | b'w' => continue,
            _ => 0,
        };
        if class == 0 {
            if i == 0 {
                code = 7;
                len = 1;
            }
            last = 0;
            continue;
        }
        if class != last {
            code = code << 3 | class;
            len += 1;
            if len == 7 {
                break;
            }
        }
        last = class;
    }
    code | len << 24
}

#[cfg(test)]
mod tests {
    use super::super::normalize::name_forms;
    use super::*;

    fn index(names: &[&str]) -> BlockIndex {
        let mut ix = BlockIndex::default();
        for (i, n) in names.iter().enumerate() {
            let mut keys = Vec::new();
            for f in name_forms(n) {
                employee_keys(&f, &mut keys);
            }
            ix.add(i as u32, keys);
        }
        ix.finish();
        ix
    }

    fn cands(ix: &BlockIndex, name: &str) -> Vec<u32> {
        let mut out = Vec::new();
        ix.candidates(&name_forms(name), 1000, &mut out, &mut Vec::new());
        out
    }

    #[test]
    fn phonetic_codes() {
        assert_eq!(phonetic("catherine"), phonetic("katherine"));
        assert_eq!(phonetic("smith"), phonetic("smyth"));
        assert_eq!(phonetic("philips"), phonetic("filips"));
        assert_ne!(phonetic("smith"), phonetic("jones"));
        assert_ne!(phonetic("anne"), phonetic("nne"));
    }

    #[test]
    fn each_error_kind_still_meets_its_employee() {
        let ix = index(&[
            "John Smith",
            "William Brown",
            "Mary Ann Garcia Lopez",
            "Jürgen Müller",
        ]);
        for (pf, want) in [
            ("Jhon Smith", 0),
            ("John Smiht", 0),
            ("John Xmith", 0),
            ("J. Smith", 0),
            ("Smith John", 0),
            ("johnsmith", 0),
            ("Bill Brown", 1),
            ("Ann Garcia", 2),
            ("Mary Garcia", 2),
            ("Juergen Mueller", 3),
            ("Wlliam Browm", 1),
            ("Wiliam Rbown", 1),
            ("Maray Gracia", 2),
        ] {
            assert!(cands(&ix, pf).contains(&want), "{pf}");
        }
        // A short surname's slip anywhere, the order either way.
        let ix = index(&["Hong Wang", "Ana Kim"]);
        for (pf, want) in [
            ("Hong Wahg", 0),
            ("Hong Wsng", 0),
            ("Wahg Hong", 0),
            ("Hong Wng", 0),
            ("Hong Waong", 0),
            ("Hong Wnag", 0),
            ("Ana Kimm", 1),
        ] {
            assert!(cands(&ix, pf).contains(&want), "{pf}");
        }
        assert!(cands(&ix, "Peter Parker").is_empty());
    }

    #[test]
    fn particles_split_or_joined_meet() {
        let ix = index(&["William van der Berg", "Jean d'Arcy", "Anna Vandenbosch"]);
        for (pf, want) in [
            ("william.vanderberg", 0),
            ("VanDerBerg William", 0),
            ("Berg, William van der", 0),
            ("van der Berg William", 0),
            ("William Berg", 0),
            ("Jean D Arcy", 1),
            ("Anna van den Bosch", 2),
        ] {
            assert!(cands(&ix, pf).contains(&want), "{pf}");
        }
    }

    #[test]
    fn oversized_blocks_are_reported() {
        let names = vec!["John Smith"; 5];
        let ix = index(&names);
        let mut out = Vec::new();
        assert!(!ix.candidates(&name_forms("John Smith"), 4, &mut out, &mut Vec::new()));
        assert!(ix.candidates(&name_forms("John Smith"), 5, &mut out, &mut Vec::new()));
        assert_eq!(out.len(), 5);
    }
}
