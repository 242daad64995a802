//! libotr's private key file (`otr.private_key`; irssi-otr calls it `otr.key`).
//!
//! One gcrypt S-expression holding a key per (account, protocol):
//!
//! ```text
//! (privkeys
//!  (account
//! (name "alice@irc.example")
//! (protocol prpl-irc)
//! (private-key
//!  (dsa
//!   (p #00FC...#)
//!   (q #00E2...#)
//!   (g #7FBF...#)
//!   (y #0156...#)
//!   (x #008D...#)
//!   )
//!  )
//!  )
//! )
//! ```
//!
//! Reading is strict where libotr is lax, so that a damaged file is noticed before it is used
//! or rewritten: every account must have exactly one `name`, `protocol` and `private-key`; the
//! key must be DSA with exactly `p`, `q`, `g`, `y` and `x`, p of 1024 bits and q of 160 (the
//! only size OTR uses), y = g^x mod p; an unknown field or a second key for the same
//! (account, protocol) is an error that names its line and column.

use crate::crypto::{CryptoError, DsaPrivateKey};
use zeroize::Zeroizing;

use super::sexp::{self, Pos, Sexp};
use super::ParseError;

/// The size of p in bits of every OTR DSA key.
pub const P_BITS: usize = 1024;
/// The size of q in bits of every OTR DSA key.
pub const Q_BITS: usize = 160;

/// One account's key.
pub struct KeyEntry {
    /// The account name, as the chat client names it (`alice@irc.example`).
    pub account: String,
    /// libotr's protocol id (`prpl-irc` for Pidgin, `IRC` for irssi-otr).
    pub protocol: String,
    /// The key.
    pub key: DsaPrivateKey,
}

impl core::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("account", &self.account)
            .field("protocol", &self.protocol)
            .field("fingerprint", &self.key.public().fingerprint())
            .finish()
    }
}

/// The whole file: keys in file order.
#[derive(Debug, Default)]
pub struct PrivateKeys {
    entries: Vec<KeyEntry>,
}

impl PrivateKeys {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a file's contents.
    pub fn parse(text: &[u8]) -> Result<Self, ParseError> {
        let root = sexp::parse(text).map_err(|e| ParseError::at(e.pos, e.message))?;
        let items = expect_list(
            &root,
            b"privkeys",
            "the file must be one (privkeys ...) list",
        )?;
        let mut entries: Vec<(KeyEntry, Pos)> = Vec::new();
        for item in items {
            let pos = item.pos();
            let entry = parse_account(item)?;
            if let Some((_, first)) = entries
                .iter()
                .find(|(e, _)| e.account == entry.account && e.protocol == entry.protocol)
            {
                return Err(ParseError::at(
                    pos,
                    format!(
                        "a second key for account {:?}, protocol {:?} (the first is at {first})",
                        entry.account, entry.protocol
                    ),
                ));
            }
            entries.push((entry, pos));
        }
        Ok(Self {
            entries: entries.into_iter().map(|(e, _)| e).collect(),
        })
    }

    /// The file's contents, in libgcrypt's advanced layout as libotr writes it. It holds the
    /// secret keys, so it is zeroized on drop.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::from("(privkeys\n"));
        for entry in &self.entries {
            out.push_str(" (account\n");
            let public = entry.key.public();
            let x = entry.key.x_bytes();
            let list = |name: &str, value: &[u8]| {
                Sexp::List(
                    vec![atom(name.as_bytes()), atom(value)],
                    Pos { line: 0, column: 0 },
                )
            };
            sexp::print(&mut out, &list("name", entry.account.as_bytes()), 0);
            out.push('\n');
            sexp::print(&mut out, &list("protocol", entry.protocol.as_bytes()), 0);
            out.push('\n');
            out.push_str("(private-key\n (dsa\n");
            for (name, value) in [
                ("p", public.p()),
                ("q", public.q()),
                ("g", public.g()),
                ("y", public.y()),
                ("x", &x[..]),
            ] {
                out.push_str("  (");
                out.push_str(name);
                out.push(' ');
                sexp::write_hex_atom(&mut out, &mpi(value));
                out.push_str(")\n");
            }
            out.push_str("  )\n )\n )\n");
        }
        out.push_str(")\n");
        out
    }

    /// The key of (account, protocol).
    pub fn find(&self, account: &str, protocol: &str) -> Option<&DsaPrivateKey> {
        self.entries
            .iter()
            .find(|e| e.account == account && e.protocol == protocol)
            .map(|e| &e.key)
    }

    /// Sets the key of (account, protocol), replacing any in place, else appending.
    pub fn insert(&mut self, account: &str, protocol: &str, key: DsaPrivateKey) {
        match self
            .entries
            .iter_mut()
            .find(|e| e.account == account && e.protocol == protocol)
        {
            Some(entry) => entry.key = key,
            None => self.entries.push(KeyEntry {
                account: account.to_owned(),
                protocol: protocol.to_owned(),
                key,
            }),
        }
    }

    /// Every key, in file order.
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }
}

/// A copy of a key (keys are deliberately not `Clone`).
pub fn copy_key(key: &DsaPrivateKey) -> Option<DsaPrivateKey> {
    let public = key.public();
    DsaPrivateKey::from_components(
        public.p(),
        public.q(),
        public.g(),
        public.y(),
        &key.x_bytes(),
    )
    .ok()
}

fn atom(bytes: &[u8]) -> Sexp {
    Sexp::Atom(Zeroizing::new(bytes.to_vec()), Pos { line: 0, column: 0 })
}

/// An MPI as libgcrypt prints it: minimal big-endian, with a 00 in front when the top bit is
/// set (gcrypt's signed form).
fn mpi(value: &[u8]) -> Zeroizing<Vec<u8>> {
    let start = value.iter().position(|&b| b != 0).unwrap_or(value.len());
    let value = &value[start..];
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() + 1));
    if value.first().is_some_and(|&b| b & 0x80 != 0) {
        out.push(0);
    }
    out.extend_from_slice(value);
    out
}

/// The items after the head of a `(head ...)` list.
fn expect_list<'a>(sexp: &'a Sexp, head: &[u8], what: &str) -> Result<&'a [Sexp], ParseError> {
    match sexp.list() {
        Some([first, rest @ ..]) if first.atom() == Some(head) => Ok(rest),
        _ => Err(ParseError::at(sexp.pos(), what.to_owned())),
    }
}

/// `(account (name N) (protocol P) (private-key ...))`.
fn parse_account(sexp: &Sexp) -> Result<KeyEntry, ParseError> {
    let items = expect_list(
        sexp,
        b"account",
        "expected an (account (name ...) (protocol ...) (private-key ...)) list",
    )?;
    let fields = Fields::collect(
        sexp.pos(),
        "account",
        items,
        &["name", "protocol", "private-key"],
    )?;
    let account = text_value(fields.get(0), "name")?;
    let protocol = text_value(fields.get(1), "protocol")?;
    let key_field = fields.get(2);
    let key = match key_field.list() {
        Some([_, key]) => parse_dsa(key)?,
        _ => {
            return Err(ParseError::at(
                key_field.pos(),
                "(private-key ...) must hold exactly one key: (private-key (dsa ...))",
            ))
        }
    };
    Ok(KeyEntry {
        account,
        protocol,
        key,
    })
}

/// The single value of a `(name value)` field, as UTF-8 text.
fn text_value(field: &Sexp, name: &str) -> Result<String, ParseError> {
    let value = single_atom(field, name)?;
    String::from_utf8(value.to_vec())
        .map_err(|_| ParseError::at(field.pos(), format!("({name} ...) is not UTF-8 text")))
}

/// The single atom of a `(name value)` field.
fn single_atom<'a>(field: &'a Sexp, name: &str) -> Result<&'a [u8], ParseError> {
    match field.list() {
        Some([_, value]) => value.atom().ok_or_else(|| {
            ParseError::at(
                value.pos(),
                format!("({name} ...) must hold a value, not a list"),
            )
        }),
        _ => Err(ParseError::at(
            field.pos(),
            format!("({name} ...) must hold exactly one value"),
        )),
    }
}

/// `(dsa (p ..) (q ..) (g ..) (y ..) (x ..))`.
fn parse_dsa(sexp: &Sexp) -> Result<DsaPrivateKey, ParseError> {
    let pos = sexp.pos();
    let items = match sexp.head() {
        Some(b"dsa") => expect_list(sexp, b"dsa", "")?,
        Some(other) => {
            return Err(ParseError::at(
                pos,
                format!(
                    "the key is of type {:?}; OTR keys are DSA",
                    String::from_utf8_lossy(other)
                ),
            ))
        }
        None => return Err(ParseError::at(pos, "expected a (dsa ...) key")),
    };
    let fields = Fields::collect(pos, "dsa", items, &["p", "q", "g", "y", "x"])?;
    let value = |i: usize, name: &str| single_atom(fields.get(i), name);
    let (p, q, g, y, x) = (
        value(0, "p")?,
        value(1, "q")?,
        value(2, "g")?,
        value(3, "y")?,
        value(4, "x")?,
    );
    for (bytes, bits, name, i) in [(p, P_BITS, "p", 0), (q, Q_BITS, "q", 1)] {
        let actual = bit_length(bytes);
        if actual != bits {
            return Err(ParseError::at(
                fields.get(i).pos(),
                format!(
                    "the key is of the wrong size: {name} has {actual} bits, OTR's DSA keys \
                     have a {P_BITS}-bit p and a {Q_BITS}-bit q"
                ),
            ));
        }
    }
    DsaPrivateKey::from_components(p, q, g, y, x).map_err(|e| {
        ParseError::at(
            pos,
            match e {
                CryptoError::WeakDsaKey(defect) => {
                    format!("the DSA key is not valid: its domain parameters are weak ({defect})")
                }
                _ => "the DSA key is not valid (its numbers do not fit together: y must be g^x \
                      mod p)"
                    .to_owned(),
            },
        )
    })
}

/// Bits of a big-endian number.
fn bit_length(bytes: &[u8]) -> usize {
    match bytes.iter().position(|&b| b != 0) {
        None => 0,
        Some(i) => (bytes.len() - i - 1) * 8 + (8 - bytes[i].leading_zeros() as usize),
    }
}

/// The fields of a list, each required exactly once, in any order; anything else is an error.
struct Fields<'a> {
    found: Vec<&'a Sexp>,
}

impl<'a> Fields<'a> {
    fn collect(
        pos: Pos,
        list: &str,
        items: &'a [Sexp],
        names: &[&str],
    ) -> Result<Self, ParseError> {
        let mut found: Vec<Option<&Sexp>> = vec![None; names.len()];
        for item in items {
            let head = item.head().ok_or_else(|| {
                ParseError::at(
                    item.pos(),
                    format!(
                        "unexpected value in ({list} ...): expected ({} ...) fields",
                        names.join(" ...), (")
                    ),
                )
            })?;
            let Some(i) = names.iter().position(|n| n.as_bytes() == head) else {
                return Err(ParseError::at(
                    item.pos(),
                    format!(
                        "unknown field ({} ...) in ({list} ...): expected {}",
                        String::from_utf8_lossy(head),
                        names.join(", ")
                    ),
                ));
            };
            if found[i].is_some() {
                return Err(ParseError::at(
                    item.pos(),
                    format!("({} ...) appears twice in ({list} ...)", names[i]),
                ));
            }
            found[i] = Some(item);
        }
        let mut out = Vec::with_capacity(names.len());
        for (name, field) in names.iter().zip(found) {
            out.push(field.ok_or_else(|| {
                ParseError::at(pos, format!("({list} ...) has no ({name} ...) field"))
            })?);
        }
        Ok(Self { found: out })
    }

    fn get(&self, i: usize) -> &'a Sexp {
        self.found[i]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use rand_core::OsRng;

    #[test]
    fn round_trip_with_several_accounts() {
        let mut keys = PrivateKeys::new();
        keys.insert(
            "alice@irc.example",
            "prpl-irc",
            DsaPrivateKey::generate(&mut OsRng),
        );
        keys.insert("bob", "IRC", DsaPrivateKey::generate(&mut OsRng));
        keys.insert("zoé \"q\"", "xmpp", DsaPrivateKey::generate(&mut OsRng));
        let text = keys.to_text();
        let again = PrivateKeys::parse(text.as_bytes()).unwrap();
        assert_eq!(again.entries().len(), 3);
        for (a, b) in keys.entries().iter().zip(again.entries()) {
            assert_eq!(a.account, b.account);
            assert_eq!(a.protocol, b.protocol);
            assert_eq!(a.key.public().fingerprint(), b.key.public().fingerprint());
        }
        assert_eq!(again.to_text(), text);
        assert!(text.contains("(protocol prpl-irc)"));
        assert!(text.contains("(name \"alice@irc.example\")"));
    }

    #[test]
    fn bit_lengths() {
        assert_eq!(bit_length(&[]), 0);
        assert_eq!(bit_length(&[0, 0]), 0);
        assert_eq!(bit_length(&[0, 1]), 1);
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(&*mpi(&[0, 0x80]), &[0, 0x80]);
        assert_eq!(&*mpi(&[0, 0, 0x7f]), &[0x7f]);
    }
}
