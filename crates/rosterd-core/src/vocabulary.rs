//! Closed sets of values that leave the process as text (SQL columns, API
//! JSON, metric labels, the digest): each is an enum whose strings are
//! written once, in its [`vocabulary!`] definition, and read back through
//! the same table. The strings are a public contract: never rename one.

/// A string that names no value of a vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?} (known: {known})")]
pub struct UnknownValue {
    /// The vocabulary, e.g. `run status`.
    pub what: &'static str,
    pub value: String,
    /// Every known value, comma-separated.
    pub known: String,
}

/// Defines an enum of unit variants, each with its string, and derives from
/// that one table: `ALL`, `as_str`, `FromStr` (and `TryFrom<String>`, for
/// sqlx's `try_from` column reads), `Display`, and serde as the string.
///
/// ```
/// rosterd_core::vocabulary! {
///     /// A colour.
///     pub enum Colour("colour") {
///         Red => "red",
///         DarkBlue => "dark_blue",
///     }
/// }
/// assert_eq!(Colour::DarkBlue.as_str(), "dark_blue");
/// assert_eq!("red".parse::<Colour>(), Ok(Colour::Red));
/// assert!("blue".parse::<Colour>().is_err());
/// ```
#[macro_export]
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$( $name::$variant, )+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::vocabulary::UnknownValue;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::vocabulary::UnknownValue {
                        what: $what,
                        value: s.to_string(),
                        known: $name::ALL
                            .iter()
                            .map(|v| v.as_str())
                            .collect::<::std::vec::Vec<_>>()
                            .join(", "),
                    })
            }
        }

        impl ::std::convert::TryFrom<::std::string::String> for $name {
            type Error = $crate::vocabulary::UnknownValue;
            fn try_from(s: ::std::string::String) -> ::std::result::Result<Self, Self::Error> {
                s.parse()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> ::std::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> ::std::result::Result<Self, D::Error> {
                let s = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}
