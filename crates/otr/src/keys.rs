//! The data phase: D-H key rotation, session keys, counters and MAC-key revealing
//! (Protocol-v3.html, "Key Management", "Computing AES keys, MAC keys", "Revealing MAC keys",
//! "Data Message").
//!
//! We keep our two most recent D-H key pairs (ids `our_keyid` and `our_keyid - 1`) and their
//! two most recent public values (ids `their_keyid` and `their_keyid - 1`), and the four
//! session-key sets they pair into. Unlike libotr, which derives all four sets (two modular
//! exponentiations) every time a key changes, a set is derived only when a message first
//! needs it: a round trip costs four exponentiations and two key generations instead of ten.
//!
//! Receiving is parse-then-verify: [`DataKeys::open`] takes an unverified
//! [`DataMessage`] and only a message whose keyids, MAC and counter check yields a
//! [`VerifiedPlaintext`]; no state changes before that.

use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::ake::AKE_KEYID;
use crate::crypto::sym::{aes128_ctr, ct_eq, hmac_sha1, sha1, sha256};
use crate::crypto::{DhKeyPair, DhPublicKey, SharedSecret};
use crate::wire::encoded::{
    DataFlags, DataMessage, EncodedMessage, InstanceTag, MessageBody, ProtocolVersion,
};

/// A MAC key that has been (or will be) revealed: deliberately public, it is what makes an
/// OTR transcript forgeable after the fact.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RevealedMacKey(pub [u8; 20]);

impl core::fmt::Debug for RevealedMacKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RevealedMacKey(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

/// OTR v3's extra symmetric key (Protocol-v3.html, "Extra symmetric key"): 256 bits from
/// the same shared secret as the data keys, for the application's own use (file transfer,
/// voice). Zeroized on drop, redacted in `Debug`, compared in constant time.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SymmetricKey([u8; 32]);

impl SymmetricKey {
    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl PartialEq for SymmetricKey {
    fn eq(&self, other: &Self) -> bool {
        ct_eq(&self.0, &other.0)
    }
}

impl Eq for SymmetricKey {}

impl core::fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SymmetricKey(<redacted>)")
    }
}

/// The AES and MAC keys one pair of D-H values gives data messages (Protocol-v3.html,
/// "Computing AES keys and MAC keys"): with `secbytes` the MPI encoding of the shared
/// secret, the end whose public value is numerically larger (the "high" end) sends with
/// `SHA1(0x01 || secbytes)[..16]` and receives with `SHA1(0x02 || secbytes)[..16]`, the low
/// end the other way round; each MAC key is `SHA1(AES key)`.
///
/// The engine derives its session keys with this; it is public for tools that inspect or
/// forge transcripts (`offrecord toolkit sesskeys`). Zeroized on drop, redacted in `Debug`.
///
/// ```
/// use otr::crypto::DhKeyPair;
/// use otr::DataKeySet;
///
/// let alice = DhKeyPair::from_secret_bytes(&[7; 40]).unwrap();
/// let bob = DhKeyPair::from_secret_bytes(&[9; 40]).unwrap();
/// let a = DataKeySet::derive(alice.public(), bob.public(), &alice.shared_secret(bob.public()));
/// let b = DataKeySet::derive(bob.public(), alice.public(), &bob.shared_secret(alice.public()));
/// assert_ne!(a.high_end, b.high_end);
/// assert_eq!(a.send_aes, b.recv_aes);
/// assert_eq!(a.recv_mac, b.send_mac);
/// assert_eq!(a.send_mac, DataKeySet::mac_key(&a.send_aes));
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct DataKeySet {
    /// Whether our public value is the larger one (we send with byte 0x01).
    pub high_end: bool,
    /// The AES-128 key of the messages we send.
    pub send_aes: [u8; 16],
    /// The MAC key of the messages we send: `SHA1(send_aes)`.
    pub send_mac: [u8; 20],
    /// The AES-128 key of the messages we receive.
    pub recv_aes: [u8; 16],
    /// The MAC key of the messages we receive: `SHA1(recv_aes)`.
    pub recv_mac: [u8; 20],
}

impl DataKeySet {
    /// The keys for our public value `ours`, their public value `theirs` and the shared
    /// secret of the two.
    pub fn derive(ours: &DhPublicKey, theirs: &DhPublicKey, secret: &SharedSecret) -> Self {
        let secbytes = secret.secbytes();
        let high_end = ours > theirs;
        let (send_byte, recv_byte) = if high_end { (0x01, 0x02) } else { (0x02, 0x01) };
        let h1 = |b: u8| Zeroizing::new(sha1(&[&[b], &secbytes]));
        let mut set = Self {
            high_end,
            send_aes: [0; 16],
            send_mac: [0; 20],
            recv_aes: [0; 16],
            recv_mac: [0; 20],
        };
        set.send_aes.copy_from_slice(&h1(send_byte)[..16]);
        set.recv_aes.copy_from_slice(&h1(recv_byte)[..16]);
        set.send_mac = Self::mac_key(&set.send_aes);
        set.recv_mac = Self::mac_key(&set.recv_aes);
        set
    }

    /// The MAC key that goes with an AES key: `SHA1(aes)`.
    pub fn mac_key(aes: &[u8; 16]) -> [u8; 20] {
        sha1(&[aes])
    }
}

impl core::fmt::Debug for DataKeySet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DataKeySet")
            .field("high_end", &self.high_end)
            .finish_non_exhaustive()
    }
}

/// The keys derived from one pair (our key, their key).
#[derive(Zeroize, ZeroizeOnDrop)]
struct SessionKeys {
    send_aes: [u8; 16],
    send_mac: [u8; 20],
    recv_aes: [u8; 16],
    recv_mac: [u8; 20],
    extra: [u8; 32],
    /// Top half of the last counter we sent with these keys (0: none yet).
    send_ctr: u64,
    /// Top half of the last counter we accepted with these keys (0: none yet).
    recv_ctr: u64,
    /// Whether a message verified with `recv_mac`: only such keys are revealed.
    recv_mac_used: bool,
}

impl SessionKeys {
    fn derive(ours: &DhKeyPair, theirs: &DhPublicKey) -> Self {
        Self::from_secret(ours, theirs, &ours.shared_secret(theirs))
    }

    /// The sets for our keys `a` and `b` with the same key of theirs, derived together
    /// (one shared comb table for the two exponentiations; see
    /// [`DhKeyPair::shared_secrets_pair`]).
    fn derive_pair(a: &DhKeyPair, b: &DhKeyPair, theirs: &DhPublicKey) -> (Self, Self) {
        let (sa, sb) = DhKeyPair::shared_secrets_pair(a, b, theirs);
        (
            Self::from_secret(a, theirs, &sa),
            Self::from_secret(b, theirs, &sb),
        )
    }

    /// The key set of (`ours`, `theirs`) from their shared secret.
    fn from_secret(ours: &DhKeyPair, theirs: &DhPublicKey, secret: &SharedSecret) -> Self {
        let set = DataKeySet::derive(ours.public(), theirs, secret);
        Self {
            send_aes: set.send_aes,
            send_mac: set.send_mac,
            recv_aes: set.recv_aes,
            recv_mac: set.recv_mac,
            extra: sha256(&[&[0xff], &secret.secbytes()]),
            send_ctr: 0,
            recv_ctr: 0,
            recv_mac_used: false,
        }
    }

    /// The MAC key to reveal when these keys are forgotten: the receiving key, if it
    /// verified a message. Never the sending key: the peer may still hold these keys and
    /// accept messages MACed with it until our next message makes it rotate, so revealing
    /// it would let whoever delays that message forge messages the peer believes.
    fn revealable_mac_key(&self) -> Option<RevealedMacKey> {
        self.recv_mac_used.then_some(RevealedMacKey(self.recv_mac))
    }
}

/// Why a data message was not accepted. Every case leaves the keys untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataError {
    /// A key id that is neither the current nor the previous one (stale or from the future).
    UnknownKeyId,
    /// A key id would pass 0xFFFFFFFF: the session cannot rotate keys any further.
    KeyIdExhausted,
    /// The sender used its previous key, which we never had.
    NoPreviousKey,
    /// The MAC did not verify.
    BadMac,
    /// The counter did not increase: a replay or a reordered message.
    Replay,
    /// The next D-H value is out of range.
    BadNextDh,
    /// The counter is all zero, which the spec forbids.
    ZeroCounter,
    /// There is no private session with the sender (it has one with us that we lost, or
    /// never had).
    NoSession,
    /// The message is for another protocol version than the session's.
    WrongVersion,
}

impl core::fmt::Display for DataError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::UnknownKeyId => "the message uses keys we no longer (or do not yet) have",
            Self::KeyIdExhausted => "the session ran out of key ids; start a new one",
            Self::NoPreviousKey => "the message uses a previous key we never received",
            Self::BadMac => "the message failed its integrity check",
            Self::Replay => "the message was replayed or arrived out of order",
            Self::BadNextDh => "the message carries an invalid next D-H key",
            Self::ZeroCounter => "the message has an all-zero counter",
            Self::NoSession => "there is no private session with this peer",
            Self::WrongVersion => "it was sent for another protocol version",
        })
    }
}

impl std::error::Error for DataError {}

/// A data message whose keyids, MAC and counter verified, decrypted.
pub(crate) struct VerifiedPlaintext {
    /// The decrypted plaintext (text, NUL, TLVs).
    pub bytes: Zeroizing<Vec<u8>>,
    /// The extra symmetric key of the keys that protected the message.
    pub extra_key: SymmetricKey,
}

/// Addressing for the messages we build.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Addressing {
    pub version: ProtocolVersion,
    pub ours: InstanceTag,
    pub theirs: InstanceTag,
}

/// The data-phase key state of one private session.
pub(crate) struct DataKeys {
    our_keyid: u32,
    /// Our key with id `our_keyid`.
    our_current: DhKeyPair,
    /// Our key with id `our_keyid - 1`.
    our_previous: DhKeyPair,
    their_keyid: u32,
    /// Their key with id `their_keyid`.
    their_current: DhPublicKey,
    /// Their key with id `their_keyid - 1`, if we have had it.
    their_previous: Option<DhPublicKey>,
    /// `sessions[i][j]`: our key `our_keyid - i` with their key `their_keyid - j`,
    /// derived on first use.
    sessions: [[Option<Box<SessionKeys>>; 2]; 2],
    /// MAC keys to reveal in the next data message we send.
    pending_reveals: Vec<RevealedMacKey>,
}

impl DataKeys {
    /// The key state right after a key exchange: our AKE key becomes `our_keyid - 1` and a
    /// fresh key `our_keyid` is generated, exactly as libotr does.
    pub(crate) fn after_ake(
        their_dh: DhPublicKey,
        their_keyid: u32,
        our_dh: DhKeyPair,
        rng: &mut dyn CryptoRngCore,
    ) -> Self {
        Self {
            our_keyid: AKE_KEYID + 1,
            our_current: DhKeyPair::generate(rng),
            our_previous: our_dh,
            their_keyid,
            their_current: their_dh,
            their_previous: None,
            sessions: Default::default(),
            pending_reveals: Vec::new(),
        }
    }

    fn session(&mut self, i: usize, j: usize) -> Option<&mut SessionKeys> {
        let ours = if i == 0 {
            &self.our_current
        } else {
            &self.our_previous
        };
        let theirs = if j == 0 {
            Some(&self.their_current)
        } else {
            self.their_previous.as_ref()
        }?;
        let other = if i == 0 {
            &self.our_previous
        } else {
            &self.our_current
        };
        let sibling_missing = self.sessions.get(1 - i.min(1))?.get(j)?.is_none();
        if self.sessions.get(i)?.get(j)?.is_none() && sibling_missing {
            // The set for our other key with the same key of theirs is needed soon in the
            // usual ping-pong (to send, or to read the reply after a rotation): derive both
            // at once, sharing the work for the common base. A set never used is harmless:
            // only MAC keys that verified a message are ever revealed.
            let (keys, sibling) = SessionKeys::derive_pair(ours, other, theirs);
            if let Some(row) = self.sessions.get_mut(1 - i.min(1)) {
                if let Some(s) = row.get_mut(j) {
                    *s = Some(Box::new(sibling));
                }
            }
            let slot = self.sessions.get_mut(i)?.get_mut(j)?;
            return Some(slot.insert(Box::new(keys)));
        }
        let slot = self.sessions.get_mut(i)?.get_mut(j)?;
        Some(slot.get_or_insert_with(|| Box::new(SessionKeys::derive(ours, theirs))))
    }

    /// Encrypts `plaintext` into a data message: sender key `our_keyid - 1`, recipient key
    /// `their_keyid`, next D-H value our current key; reveals the pending MAC keys.
    pub(crate) fn seal(
        &mut self,
        addr: Addressing,
        flags: DataFlags,
        plaintext: &[u8],
    ) -> Option<EncodedMessage> {
        let next_dh = self.our_current.public().as_bytes().to_vec();
        let sender_keyid = self.our_keyid.checked_sub(1)?;
        let recipient_keyid = self.their_keyid;
        let keys = self.session(1, 0)?;
        keys.send_ctr = keys.send_ctr.checked_add(1)?;
        let ctr = keys.send_ctr.to_be_bytes();
        let mut encrypted = plaintext.to_vec();
        #[cfg(feature = "keystream-oracle")]
        crate::oracle::sealed(&keys.send_aes, keys.send_ctr);
        aes128_ctr(&keys.send_aes, &ctr, &mut encrypted);
        let send_mac = keys.send_mac;
        let mut message = EncodedMessage {
            version: addr.version,
            sender_instance: if addr.version == ProtocolVersion::V2 {
                InstanceTag::UNKNOWN
            } else {
                addr.ours
            },
            receiver_instance: if addr.version == ProtocolVersion::V2 {
                InstanceTag::UNKNOWN
            } else {
                addr.theirs
            },
            body: MessageBody::Data(DataMessage {
                flags,
                sender_keyid,
                recipient_keyid,
                next_dh,
                ctr,
                encrypted,
                mac: [0; 20],
                old_mac_keys: self.pending_reveals.iter().flat_map(|k| k.0).collect(),
            }),
        };
        let mac = hmac_sha1(&send_mac, &[&message.data_mac_input()?]);
        if let MessageBody::Data(data) = &mut message.body {
            data.mac = mac;
        }
        self.pending_reveals.clear();
        Some(message)
    }

    /// The extra symmetric key of the key set the next message we send will use.
    pub(crate) fn sending_extra_key(&mut self) -> Option<SymmetricKey> {
        self.session(1, 0).map(|keys| SymmetricKey(keys.extra))
    }

    /// Verifies and decrypts a data message, then rotates keys as the spec says.
    pub(crate) fn open(
        &mut self,
        message: &EncodedMessage,
        rng: &mut dyn CryptoRngCore,
    ) -> Result<VerifiedPlaintext, DataError> {
        let MessageBody::Data(data) = &message.body else {
            return Err(DataError::UnknownKeyId);
        };
        let (i, j) = self.key_indices(data.sender_keyid, data.recipient_keyid)?;
        if data.ctr == [0; 8] {
            return Err(DataError::ZeroCounter);
        }
        // Validate the next key before anything changes (libotr does not check it).
        let rotate_theirs = data.sender_keyid == self.their_keyid;
        let rotate_ours = data.recipient_keyid == self.our_keyid;
        // Peer-controlled ids count up: refuse what would overflow before anything changes.
        if (rotate_theirs && self.their_keyid.checked_add(1).is_none())
            || (rotate_ours && self.our_keyid.checked_add(1).is_none())
        {
            return Err(DataError::KeyIdExhausted);
        }
        let next_dh = if rotate_theirs {
            Some(DhPublicKey::from_bytes(&data.next_dh).map_err(|_| DataError::BadNextDh)?)
        } else {
            None
        };
        let mac_input = message.data_mac_input().ok_or(DataError::BadMac)?;
        let keys = self.session(i, j).ok_or(DataError::NoPreviousKey)?;
        if !ct_eq(&hmac_sha1(&keys.recv_mac, &[&mac_input]), &data.mac) {
            return Err(DataError::BadMac);
        }
        keys.recv_mac_used = true;
        let ctr = u64::from_be_bytes(data.ctr);
        if ctr <= keys.recv_ctr {
            return Err(DataError::Replay);
        }
        keys.recv_ctr = ctr;
        let mut bytes = Zeroizing::new(data.encrypted.clone());
        aes128_ctr(&keys.recv_aes, &data.ctr, &mut bytes);
        let extra_key = SymmetricKey(keys.extra);

        if rotate_ours {
            self.rotate_ours(rng);
        }
        if let Some(next) = next_dh {
            self.rotate_theirs(next);
        }
        Ok(VerifiedPlaintext { bytes, extra_key })
    }

    /// Maps a (sender keyid, recipient keyid) pair to indices into `sessions`.
    fn key_indices(
        &self,
        sender_keyid: u32,
        recipient_keyid: u32,
    ) -> Result<(usize, usize), DataError> {
        if sender_keyid == 0 || recipient_keyid == 0 {
            return Err(DataError::UnknownKeyId);
        }
        let i = match self.our_keyid.checked_sub(recipient_keyid) {
            Some(0) => 0,
            Some(1) => 1,
            _ => return Err(DataError::UnknownKeyId),
        };
        let j = match self.their_keyid.checked_sub(sender_keyid) {
            Some(0) => 0,
            Some(1) if self.their_previous.is_some() => 1,
            Some(1) => return Err(DataError::NoPreviousKey),
            _ => return Err(DataError::UnknownKeyId),
        };
        Ok((i, j))
    }

    /// The peer has seen our current key: forget the previous one (revealing the MAC keys it
    /// produced), and generate a new current key.
    fn rotate_ours(&mut self, rng: &mut dyn CryptoRngCore) {
        let [current, previous] = core::mem::take(&mut self.sessions);
        for keys in previous.iter().flatten() {
            self.pending_reveals.extend(keys.revealable_mac_key());
        }
        self.sessions = [[None, None], current];
        let fresh = DhKeyPair::generate(rng);
        self.our_previous = core::mem::replace(&mut self.our_current, fresh);
        self.our_keyid = self.our_keyid.saturating_add(1);
    }

    /// The peer sent a new key: forget their previous one (revealing its MAC keys).
    fn rotate_theirs(&mut self, next: DhPublicKey) {
        for row in &mut self.sessions {
            let [current, previous] = core::mem::take(row);
            if let Some(keys) = &previous {
                self.pending_reveals.extend(keys.revealable_mac_key());
            }
            *row = [None, current];
        }
        self.their_previous = Some(core::mem::replace(&mut self.their_current, next));
        self.their_keyid = self.their_keyid.saturating_add(1);
    }

    /// The id of our D-H key that the next message we send announces (its next D-H value).
    pub(crate) fn announced_keyid(&self) -> u32 {
        self.our_keyid
    }

    /// Whether the peer has used our key `keyid` (so it read a message announcing it).
    pub(crate) fn peer_used_keyid(&self, keyid: u32) -> bool {
        self.our_keyid > keyid
    }

    /// For keys that will accept no more messages (a retired or finished session): the MAC
    /// keys still to be revealed, with every receiving MAC key that verified a message.
    pub(crate) fn take_all_reveals(&mut self) -> Vec<RevealedMacKey> {
        let mut keys = core::mem::take(&mut self.pending_reveals);
        for set in self
            .sessions
            .iter_mut()
            .flatten()
            .filter_map(|s| s.as_mut())
        {
            keys.extend(set.revealable_mac_key());
            set.recv_mac_used = false;
        }
        keys
    }

    /// Reveals `keys` (of another session) in our next data message.
    pub(crate) fn reveal_later(&mut self, keys: Vec<RevealedMacKey>) {
        self.pending_reveals.extend(keys);
    }

    /// The MAC keys waiting to be revealed in our next data message.
    #[allow(dead_code)]
    pub(crate) fn pending_reveals(&self) -> &[RevealedMacKey] {
        &self.pending_reveals
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// A data message from a peer whose key id is 0xFFFFFFFF, MACed correctly: the id
    /// has no successor. Before the fix, accepting it panicked in debug builds (and
    /// wrapped to 0 in release, breaking the session).
    fn message_from_keyid(keys: &mut DataKeys, sender_keyid: u32) -> EncodedMessage {
        let next = DhKeyPair::from_secret_bytes(&[0x33; 40]).unwrap();
        let mut message = EncodedMessage {
            version: ProtocolVersion::V3,
            sender_instance: InstanceTag(0x200),
            receiver_instance: InstanceTag(0x100),
            body: MessageBody::Data(DataMessage {
                flags: DataFlags::default(),
                sender_keyid,
                recipient_keyid: keys.our_keyid,
                next_dh: next.public().as_bytes().to_vec(),
                ctr: 1u64.to_be_bytes(),
                encrypted: b"hi\0".to_vec(),
                mac: [0; 20],
                old_mac_keys: Vec::new(),
            }),
        };
        let recv_mac = keys.session(0, 0).unwrap().recv_mac;
        let mac = hmac_sha1(&recv_mac, &[&message.data_mac_input().unwrap()]);
        if let MessageBody::Data(d) = &mut message.body {
            d.mac = mac;
        }
        message
    }

    #[test]
    fn a_key_id_without_successor_is_refused_not_overflowed() {
        let ours = DhKeyPair::from_secret_bytes(&[0x11; 40]).unwrap();
        let theirs = DhKeyPair::from_secret_bytes(&[0x22; 40]).unwrap();
        let rng = &mut rand_core::OsRng;
        let mut keys = DataKeys::after_ake(theirs.public().clone(), u32::MAX, ours, rng);
        let message = message_from_keyid(&mut keys, u32::MAX);
        assert_eq!(
            keys.open(&message, rng).err(),
            Some(DataError::KeyIdExhausted)
        );
        // Nothing changed: the session still reads what it could read before.
        assert_eq!(keys.their_keyid, u32::MAX);
    }

    /// `DataKeySet` is the spec's formula, and the engine's session keys are made from it.
    #[test]
    fn data_key_set_follows_the_spec() {
        let a = DhKeyPair::from_secret_bytes(&[0x11; 40]).unwrap();
        let b = DhKeyPair::from_secret_bytes(&[0x22; 40]).unwrap();
        let secret = a.shared_secret(b.public());
        let secbytes = secret.secbytes();
        let set = DataKeySet::derive(a.public(), b.public(), &secret);
        let high = a.public() > b.public();
        assert_eq!(set.high_end, high);
        let (s, r) = if high { (1u8, 2u8) } else { (2, 1) };
        assert_eq!(set.send_aes[..], sha1(&[&[s], &secbytes])[..16]);
        assert_eq!(set.recv_aes[..], sha1(&[&[r], &secbytes])[..16]);
        assert_eq!(set.send_mac, sha1(&[&set.send_aes]));
        assert_eq!(set.recv_mac, sha1(&[&set.recv_aes]));
        let engine = SessionKeys::derive(&a, b.public());
        assert_eq!(engine.send_aes, set.send_aes);
        assert_eq!(engine.recv_mac, set.recv_mac);
        assert_eq!(engine.extra, sha256(&[&[0xff], &secbytes]));
        assert_eq!(
            format!("{set:?}"),
            format!("DataKeySet {{ high_end: {high}, .. }}")
        );
    }
}
