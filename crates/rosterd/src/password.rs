//! Generated passwords for new accounts: strong, random, and held only in a
//! [`Secret`] for the one request that sends them. Nobody ever needs them
//! (people get in through a password-change ticket), so they are never
//! stored, logged or returned by a scheduled run.

use crate::config::Secret;
use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use rand::Rng;

const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";
const SYMBOLS: &[u8] = b"!#$%&*+-=?@^_~";

/// 32 characters with every class present: passes any Auth0 password policy
/// up to "excellent" (which wants 10+ characters, all four classes, and no
/// more than two identical characters in a row; the draw makes a run of
/// three unlikely, and the check below makes it impossible).
pub fn generate() -> Secret {
    let mut rng = OsRng;
    loop {
        let mut chars: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS]
            .iter()
            .map(|class| class[rng.gen_range(0..class.len())])
            .collect();
        let all: Vec<u8> = [LOWER, UPPER, DIGITS, SYMBOLS].concat();
        while chars.len() < 32 {
            chars.push(all[rng.gen_range(0..all.len())]);
        }
        chars.shuffle(&mut rng);
        if chars.windows(3).all(|w| !(w[0] == w[1] && w[1] == w[2])) {
            return Secret::new(String::from_utf8(chars).expect("ASCII"));
        }
    }
}

/// A random URL-safe token (for the demo's admin API).
pub fn generate_token() -> Secret {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = OsRng;
    Secret::new(
        (0..32)
            .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
            .collect::<String>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_and_no_repeats_across_draws() {
        let a = generate();
        let b = generate();
        assert_ne!(a.expose(), b.expose());
        for p in [a, b] {
            let s = p.expose().as_bytes();
            assert_eq!(s.len(), 32);
            for class in [LOWER, UPPER, DIGITS, SYMBOLS] {
                assert!(s.iter().any(|c| class.contains(c)));
            }
        }
    }
}
