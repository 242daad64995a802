//! The identity commands for a person: `keygen`, `fingerprint`, `contacts`, `trust`,
//! `distrust`, `import` and `export`, over the home directory's libotr files.
//!
//! Each command writes what it has to say to `out` (results) and `err` (progress and
//! warnings) and returns an [`Error`] for a person otherwise.

use std::io::Write;
use std::path::{Path, PathBuf};

use otr::crypto::{DsaPrivateKey, Fingerprint};
use rand_core::CryptoRngCore;

use crate::identity::private_key::copy_key;
use crate::identity::{instance_tags, FingerprintEntry, IdentityError, Layout, OtrDir};
use crate::store::random_instance_tag;

/// Why a command failed, for a person.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written, or does not parse.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// Writing the output failed.
    #[error("writing the output: {0}")]
    Output(#[from] std::io::Error),
    /// The command was refused; the text says why and what to do.
    #[error("{0}")]
    Refused(String),
}

/// One account in libotr's files.
#[derive(Debug, Clone)]
pub struct AccountId {
    /// The account name.
    pub account: String,
    /// libotr's protocol id.
    pub protocol: String,
}

impl core::fmt::Display for AccountId {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} ({})", self.account, self.protocol)
    }
}

/// The default home: `$XDG_DATA_HOME/offrecord`, else `$HOME/.local/share/offrecord`.
pub fn default_home() -> Option<PathBuf> {
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    if let Some(data) = std::env::var_os("XDG_DATA_HOME").and_then(absolute) {
        return Some(data.join("offrecord"));
    }
    std::env::var_os("HOME")
        .and_then(absolute)
        .map(|home| home.join(".local").join("share").join("offrecord"))
}

/// `offrecord keygen`: a new key for the account, refusing to replace one without `force`.
pub fn keygen(
    home: &Path,
    id: &AccountId,
    force: bool,
    rng: &mut dyn CryptoRngCore,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), Error> {
    let files = OtrDir::new(home, Layout::LIBOTR);
    // Read first: a corrupt file stops us before the slow part, and is never written over.
    let existing = files.read_private_keys()?;
    if let Some(key) = existing
        .as_ref()
        .and_then(|k| k.find(&id.account, &id.protocol))
    {
        if !force {
            return Err(Error::Refused(format!(
                "{id} already has a key, {}, in {}; use --force to replace it (everyone who \
                 verified the old one will see a new, unverified fingerprint)",
                key.public().fingerprint(),
                files.private_key_path().display()
            )));
        }
    }
    writeln!(err, "Generating a 1024-bit DSA key for {id}...")?;
    let key = DsaPrivateKey::generate(rng);
    let fingerprint = key.public().fingerprint();
    {
        let _lock = files.lock()?;
        let mut keys = files.read_private_keys()?.unwrap_or_default();
        if keys.find(&id.account, &id.protocol).is_some() && !force {
            return Err(Error::Refused(format!(
                "{id} got a key from another program meanwhile; use --force to replace it"
            )));
        }
        keys.insert(&id.account, &id.protocol, key);
        files.write_private_keys(&keys)?;
        let mut tags = files.read_instance_tags()?;
        if instance_tags::find(&tags, &id.account, &id.protocol).is_none() {
            instance_tags::set(
                &mut tags,
                &id.account,
                &id.protocol,
                random_instance_tag(rng),
            );
            files.write_instance_tags(&tags)?;
        }
    }
    writeln!(err, "Saved in {}.", files.private_key_path().display())?;
    writeln!(out, "{fingerprint}")?;
    Ok(())
}

/// `offrecord fingerprint`: our fingerprint for the account, or every account's.
pub fn fingerprint(home: &Path, id: Option<&AccountId>, out: &mut dyn Write) -> Result<(), Error> {
    let files = OtrDir::new(home, Layout::LIBOTR);
    let keys = files.read_private_keys()?.unwrap_or_default();
    match id {
        Some(id) => {
            let key = keys.find(&id.account, &id.protocol).ok_or_else(|| {
                Error::Refused(format!(
                    "{id} has no key in {}; create one with `offrecord keygen`{}",
                    home.display(),
                    known_accounts_hint(&keys)
                ))
            })?;
            writeln!(out, "{}", key.public().fingerprint())?;
        }
        None => {
            if keys.entries().is_empty() {
                return Err(Error::Refused(format!(
                    "there is no key in {}; create one with `offrecord keygen --account NAME`",
                    home.display()
                )));
            }
            for entry in keys.entries() {
                writeln!(
                    out,
                    "{}\t{}\t{}",
                    entry.account,
                    entry.protocol,
                    entry.key.public().fingerprint()
                )?;
            }
        }
    }
    Ok(())
}

fn known_accounts_hint(keys: &crate::identity::PrivateKeys) -> String {
    if keys.entries().is_empty() {
        return String::new();
    }
    let names: Vec<String> = keys
        .entries()
        .iter()
        .map(|e| format!("{} ({})", e.account, e.protocol))
        .collect();
    format!(" (keys there: {})", names.join(", "))
}

/// How a trust text reads for a person.
fn trust_label(trust: &str) -> &str {
    match trust {
        "" => "not verified",
        "smp" => "verified (SMP)",
        "verified" => "verified",
        other => other,
    }
}

/// `offrecord contacts`: the known fingerprints with their trust (of one account, or all).
pub fn contacts(home: &Path, id: Option<&AccountId>, out: &mut dyn Write) -> Result<(), Error> {
    let files = OtrDir::new(home, Layout::LIBOTR);
    let entries = files.read_fingerprints()?;
    let shown: Vec<&FingerprintEntry> = entries
        .iter()
        .filter(|e| match id {
            Some(id) => e.account == id.account && e.protocol == id.protocol,
            None => true,
        })
        .collect();
    if shown.is_empty() {
        writeln!(out, "No known fingerprints.")?;
        return Ok(());
    }
    let width = shown
        .iter()
        .map(|e| e.username.len())
        .max()
        .unwrap_or(0)
        .max(4);
    for e in shown {
        let account = if id.is_none() {
            format!("  [{} ({})]", e.account, e.protocol)
        } else {
            String::new()
        };
        writeln!(
            out,
            "{:width$}  {}  {}{account}",
            e.username,
            e.fingerprint,
            trust_label(&e.trust),
        )?;
    }
    Ok(())
}

/// `offrecord trust` / `offrecord distrust`: sets the trust of a peer's fingerprint (the
/// peer's only one when `fingerprint` is `None`).
pub fn set_trust(
    home: &Path,
    id: &AccountId,
    peer: &str,
    fingerprint: Option<&str>,
    trusted: bool,
    out: &mut dyn Write,
) -> Result<(), Error> {
    let wanted = fingerprint
        .map(|text| {
            Fingerprint::from_hex(text).ok_or_else(|| {
                Error::Refused(format!(
                    "{text:?} is not a fingerprint (40 hex digits, spaces allowed)"
                ))
            })
        })
        .transpose()?;
    let files = OtrDir::new(home, Layout::LIBOTR);
    let _lock = files.lock()?;
    let mut entries = files.read_fingerprints()?;
    let mut matching: Vec<usize> = entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.account == id.account && e.protocol == id.protocol && e.username == peer)
        .map(|(i, _)| i)
        .collect();
    if matching.is_empty() {
        let mut elsewhere: Vec<String> = entries
            .iter()
            .filter(|e| {
                e.username == peer && (e.account != id.account || e.protocol != id.protocol)
            })
            .map(|e| format!("--account {} --otr-protocol {}", e.account, e.protocol))
            .collect();
        elsewhere.dedup();
        let hint = if elsewhere.is_empty() {
            "talk to them first (see `offrecord contacts`)".to_owned()
        } else {
            format!("they are known under {}", elsewhere.join(", "))
        };
        return Err(Error::Refused(format!(
            "{id} knows no fingerprint of {peer:?}; {hint}"
        )));
    }
    if let Some(wanted) = wanted {
        matching.retain(|&i| entries[i].fingerprint == wanted);
        if matching.is_empty() {
            return Err(Error::Refused(format!(
                "{peer:?} has no fingerprint {wanted} for {id} (see `offrecord contacts`)"
            )));
        }
    } else {
        let mut distinct: Vec<Fingerprint> =
            matching.iter().map(|&i| entries[i].fingerprint).collect();
        distinct.sort();
        distinct.dedup();
        if distinct.len() > 1 {
            let list: Vec<String> = distinct.iter().map(|f| format!("  {f}")).collect();
            return Err(Error::Refused(format!(
                "{peer:?} has {} fingerprints; say which one:\n{}",
                distinct.len(),
                list.join("\n")
            )));
        }
    }
    let mut changed = false;
    for &i in &matching {
        let entry = &mut entries[i];
        if entry.is_trusted() != trusted {
            entry.trust = if trusted {
                "verified".to_owned()
            } else {
                String::new()
            };
            changed = true;
        }
    }
    if changed {
        files.write_fingerprints(&entries)?;
    }
    let fp = entries[matching[0]].fingerprint;
    writeln!(
        out,
        "{peer} {fp}: {}",
        if trusted { "verified" } else { "not verified" }
    )?;
    Ok(())
}

/// Lists the keys of a libotr directory (for `import` without `--account`).
pub fn list_keys(dir: &OtrDir, out: &mut dyn Write) -> Result<usize, Error> {
    let keys = dir.read_private_keys()?.ok_or_else(|| {
        Error::Refused(format!(
            "there is no private key file in {} (looked for {} and {})",
            dir.dir().display(),
            Layout::LIBOTR.private_key,
            Layout::IRSSI.private_key
        ))
    })?;
    for e in keys.entries() {
        writeln!(
            out,
            "{}\t{}\t{}",
            e.account,
            e.protocol,
            e.key.public().fingerprint()
        )?;
    }
    Ok(keys.entries().len())
}

/// Copies one account's identity (key, instance tag, fingerprints with trust) from `from` to
/// `to`, keeping everything else in `to`. A different key already in `to` is replaced only
/// with `force`; fingerprints are merged (a fingerprint verified on either side stays
/// verified). Returns what was copied, for a person.
pub fn copy_identity(
    from: &OtrDir,
    to: &OtrDir,
    id: &AccountId,
    force: bool,
) -> Result<String, Error> {
    let source_keys = from.read_private_keys()?.unwrap_or_default();
    let key = source_keys.find(&id.account, &id.protocol).ok_or_else(|| {
        Error::Refused(format!(
            "{} has no key for {id}{}",
            from.dir().display(),
            known_accounts_hint(&source_keys)
        ))
    })?;
    let source_tags = from.read_instance_tags()?;
    let source_fps = from.read_fingerprints()?;

    let _lock = to.lock()?;
    let mut keys = to.read_private_keys()?.unwrap_or_default();
    let mut tags = to.read_instance_tags()?;
    let mut fps = to.read_fingerprints()?;
    if let Some(existing) = keys.find(&id.account, &id.protocol) {
        let (old, new) = (existing.public().fingerprint(), key.public().fingerprint());
        if old != new && !force {
            return Err(Error::Refused(format!(
                "{} already has a different key for {id} ({old}, not {new}); use --force to \
                 replace it",
                to.private_key_path().display()
            )));
        }
    }
    let copy =
        copy_key(key).ok_or_else(|| Error::Refused(format!("the key of {id} cannot be copied")))?;
    let fingerprint = copy.public().fingerprint();
    keys.insert(&id.account, &id.protocol, copy);

    let mut tag_note = "";
    if let Some(tag) = instance_tags::find(&source_tags, &id.account, &id.protocol) {
        match instance_tags::find(&tags, &id.account, &id.protocol) {
            None => instance_tags::set(&mut tags, &id.account, &id.protocol, tag),
            Some(old) if old != tag && force => {
                instance_tags::set(&mut tags, &id.account, &id.protocol, tag)
            }
            Some(old) if old != tag => tag_note = " (the instance tag already there was kept)",
            Some(_) => {}
        }
    }

    let mut added = 0usize;
    let mut verified = 0usize;
    for entry in source_fps
        .iter()
        .filter(|e| e.account == id.account && e.protocol == id.protocol)
    {
        match fps.iter_mut().find(|e| {
            e.account == entry.account
                && e.protocol == entry.protocol
                && e.username == entry.username
                && e.fingerprint == entry.fingerprint
        }) {
            Some(existing) => {
                if !existing.is_trusted() && entry.is_trusted() {
                    existing.trust = entry.trust.clone();
                    verified += 1;
                }
            }
            None => {
                fps.push(entry.clone());
                added += 1;
            }
        }
    }
    to.write_private_keys(&keys)?;
    to.write_instance_tags(&tags)?;
    to.write_fingerprints(&fps)?;
    Ok(format!(
        "{id}: key {fingerprint}, {added} fingerprint(s) added, {verified} newly verified{tag_note}"
    ))
}
