//! The authenticated key exchange (Protocol-v3.html, "Authenticated Key Exchange (AKE)" and
//! "The protocol state machine" / authstate): a SIGMA variant in four messages.
//!
//! ```text
//!  initiator ("Bob")                         responder ("Alice")
//!  None --start--> AwaitingDhKey
//!        D-H Commit: AES_r(g^x), SHA256(g^x) -->  None --> AwaitingRevealSig
//!                                        <-- D-H Key: g^y
//!  AwaitingDhKey --> AwaitingSig
//!        Reveal Signature: r, AES_c(X_B), MAC_m2 -->  AwaitingRevealSig --> None (done)
//!                                        <-- Signature: AES_c'(X_A), MAC_m2'
//!  AwaitingSig --> None (done)
//! ```
//!
//! Transition table of [`AuthState`] on each received message (the spec's, exhaustively):
//!
//! | state \ message     | D-H Commit                          | D-H Key                   | Reveal Signature | Signature |
//! |---------------------|-------------------------------------|---------------------------|------------------|-----------|
//! | None                | send D-H Key -> AwaitingRevealSig   | ignore                    | ignore           | ignore    |
//! | AwaitingDhKey       | higher hash: resend commit; else as None | send Reveal Sig -> AwaitingSig | ignore  | ignore    |
//! | AwaitingRevealSig   | resend the same D-H Key, keep new commit | ignore               | verify -> None, send Signature, done | ignore |
//! | AwaitingSig         | send a new D-H Key -> AwaitingRevealSig | same g^y: resend Reveal Sig; else ignore | ignore | verify -> None, done |
//!
//! The state machine is sans-IO: it returns the messages to send and, on success, the
//! [`AkeSuccess`] from which the data phase starts.

use rand_core::CryptoRngCore;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::crypto::dsa::ValidatedKeys;
use crate::crypto::sym::{aes128_ctr, ct_eq, hmac_sha256, hmac_sha256_160, sha256};
use crate::crypto::{
    CryptoError, DhKeyPair, DhPublicKey, DsaKeyDefect, DsaPrivateKey, DsaPublicKey, SharedSecret,
};
use crate::wire::codec::{put_data, put_mpi, put_u32, Reader};
use crate::wire::encoded::{
    DhCommit, DhKey, MessageBody, ProtocolVersion, RevealSignature, SignatureMessage,
};
use crate::wire::pubkey::{put_pubkey, put_signature, read_pubkey_unvalidated, read_signature};

/// The key id our AKE D-H key gets: the AKE always uses a fresh key pair, numbered 1.
pub(crate) const AKE_KEYID: u32 = 1;

/// The authentication state (authstate). Each variant holds only what is valid in it.
#[derive(Default)]
pub(crate) enum AuthState {
    /// No key exchange in progress.
    #[default]
    None,
    /// We sent a D-H Commit and wait for the D-H Key.
    AwaitingDhKey(Box<AwaitingDhKey>),
    /// We answered a D-H Commit with our D-H Key and wait for the Reveal Signature.
    AwaitingRevealSig(Box<AwaitingRevealSig>),
    /// We sent the Reveal Signature and wait for the Signature.
    AwaitingSig(Box<AwaitingSig>),
}

impl core::fmt::Debug for AuthState {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::None => "None",
            Self::AwaitingDhKey(_) => "AwaitingDhKey",
            Self::AwaitingRevealSig(_) => "AwaitingRevealSig",
            Self::AwaitingSig(_) => "AwaitingSig",
        })
    }
}

/// Initiator, after sending the D-H Commit. Cloned when several instances of the peer
/// answer one commit sent to no instance in particular.
#[derive(Clone)]
pub(crate) struct AwaitingDhKey {
    version: ProtocolVersion,
    r: Zeroizing<[u8; 16]>,
    our_dh: DhKeyPair,
    hashed_gx: [u8; 32],
    commit: DhCommit,
}

/// Responder, after sending the D-H Key.
pub(crate) struct AwaitingRevealSig {
    version: ProtocolVersion,
    our_dh: DhKeyPair,
    their_commit: DhCommit,
    dh_key: DhKey,
}

/// Initiator, after sending the Reveal Signature.
pub(crate) struct AwaitingSig {
    version: ProtocolVersion,
    our_dh: DhKeyPair,
    their_dh: DhPublicKey,
    received_gy: Vec<u8>,
    keys: AkeKeys,
    reveal: RevealSignature,
}

/// The seven values derived from the AKE's shared secret (h2 of "secbytes").
#[derive(Zeroize, ZeroizeOnDrop)]
struct AkeKeys {
    ssid: [u8; 8],
    c: [u8; 16],
    c_prime: [u8; 16],
    m1: [u8; 32],
    m2: [u8; 32],
    m1_prime: [u8; 32],
    m2_prime: [u8; 32],
}

impl AkeKeys {
    fn derive(s: &SharedSecret) -> Self {
        let secbytes = s.secbytes();
        let h2 = |b: u8| Zeroizing::new(sha256(&[&[b], &secbytes]));
        let h0 = h2(0x00);
        let h1 = h2(0x01);
        let mut keys = Self {
            ssid: [0; 8],
            c: [0; 16],
            c_prime: [0; 16],
            m1: *h2(0x02),
            m2: *h2(0x03),
            m1_prime: *h2(0x04),
            m2_prime: *h2(0x05),
        };
        keys.ssid.copy_from_slice(&h0[..8]);
        keys.c.copy_from_slice(&h1[..16]);
        keys.c_prime.copy_from_slice(&h1[16..]);
        keys
    }
}

/// What a successful key exchange established.
pub(crate) struct AkeSuccess {
    /// The protocol version the exchange ran in.
    pub version: ProtocolVersion,
    /// Our D-H key pair of the exchange (key id [`AKE_KEYID`]).
    pub our_dh: DhKeyPair,
    /// Their D-H public value and the key id they gave it.
    pub their_dh: DhPublicKey,
    /// Their key id for `their_dh` (> 0).
    pub their_keyid: u32,
    /// Their long-term public key, authenticated by the exchange.
    pub their_long_term: DsaPublicKey,
    /// The secure session id.
    pub ssid: [u8; 8],
    /// True when we sent the Reveal Signature (we initiated): we read the ssid's first half.
    pub we_initiated: bool,
}

/// Why a key exchange message was rejected. Each is dropped; the exchange returns to None
/// where the spec says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AkeError {
    /// The revealed r does not open the committed g^x to the committed hash.
    CommitMismatch,
    /// A D-H value outside `[2, p-2]`, or our own value reflected back.
    BadDhValue,
    /// The MAC on the encrypted signature did not verify.
    BadMac,
    /// The decrypted signature block did not parse.
    MalformedSignatureBlock,
    /// The DSA signature did not verify.
    BadSignature,
    /// A key id of 0, or of 0xFFFFFFFF (which has no successor to rotate to).
    BadKeyId,
    /// The peer's long-term public key failed validation (weak or degenerate parameters).
    WeakPublicKey(DsaKeyDefect),
    /// The exchange produced the secure session id of an earlier session with the peer: the
    /// same D-H values, so the same keys (a replayed or re-addressed exchange). Refused, so
    /// that no two sessions ever encrypt under the same key and counter.
    RepeatedSession,
}

impl core::fmt::Display for AkeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let text = match self {
            Self::CommitMismatch => "the revealed D-H value does not match its commitment",
            Self::BadDhValue => "a D-H value is out of range",
            Self::BadMac => "the key exchange MAC did not verify",
            Self::MalformedSignatureBlock => "the encrypted signature block is malformed",
            Self::BadSignature => "the peer's signature did not verify",
            Self::BadKeyId => "the peer used key id 0 or 0xFFFFFFFF",
            Self::RepeatedSession => {
                "it repeated the keys of an earlier private conversation (a replayed or re-addressed key exchange)"
            }
            Self::WeakPublicKey(defect) => {
                return write!(f, "the peer's long-term key is not acceptable: {defect}");
            }
        };
        f.write_str(text)
    }
}

impl std::error::Error for AkeError {}

/// What one step of the exchange produced.
#[derive(Default)]
pub(crate) struct AkeStep {
    /// A message to send, if any.
    pub reply: Option<MessageBody>,
    /// Set when the exchange completed.
    pub success: Option<AkeSuccess>,
    /// Set when a message was rejected.
    pub error: Option<AkeError>,
}

impl AkeStep {
    fn reply(body: MessageBody) -> Self {
        Self {
            reply: Some(body),
            ..Self::default()
        }
    }
    fn error(e: AkeError) -> Self {
        Self {
            error: Some(e),
            ..Self::default()
        }
    }
}

/// What the exchange needs from its surroundings: our identity, randomness, and the peer
/// keys validated lately.
pub(crate) struct AkeContext<'a> {
    /// Our long-term key.
    pub identity: &'a DsaPrivateKey,
    /// Peer keys that passed validation lately (the engine's).
    pub validated: &'a mut ValidatedKeys,
    /// The randomness provider.
    pub rng: &'a mut dyn CryptoRngCore,
}

/// MPI encoding of a D-H public value.
fn mpi_of(key: &DhPublicKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(196);
    put_mpi(&mut out, key.as_bytes());
    out
}

impl AuthState {
    /// The protocol version of the exchange in progress, if any.
    pub(crate) fn version(&self) -> Option<ProtocolVersion> {
        match self {
            Self::None => None,
            Self::AwaitingDhKey(s) => Some(s.version),
            Self::AwaitingRevealSig(s) => Some(s.version),
            Self::AwaitingSig(s) => Some(s.version),
        }
    }

    /// Starts a new exchange as initiator (forgetting any exchange in progress) and returns
    /// the D-H Commit to send.
    pub(crate) fn start(
        &mut self,
        version: ProtocolVersion,
        ctx: &mut AkeContext<'_>,
    ) -> MessageBody {
        let mut r = Zeroizing::new([0u8; 16]);
        ctx.rng.fill_bytes(r.as_mut());
        let our_dh = DhKeyPair::generate(ctx.rng);
        let mut gx_mpi = Zeroizing::new(mpi_of(our_dh.public()));
        let hashed_gx = sha256(&[&gx_mpi]);
        aes128_ctr(&r, &[0; 8], &mut gx_mpi);
        let commit = DhCommit {
            encrypted_gx: gx_mpi.to_vec(),
            hashed_gx: hashed_gx.to_vec(),
        };
        *self = Self::AwaitingDhKey(Box::new(AwaitingDhKey {
            version,
            r,
            our_dh,
            hashed_gx,
            commit: commit.clone(),
        }));
        MessageBody::DhCommit(commit)
    }

    /// A copy of the state after our D-H Commit, if that is the state.
    pub(crate) fn awaiting_dh_key(&self) -> Option<Box<AwaitingDhKey>> {
        match self {
            Self::AwaitingDhKey(state) => Some(state.clone()),
            Self::None | Self::AwaitingRevealSig(_) | Self::AwaitingSig(_) => None,
        }
    }

    /// Forgets any exchange in progress.
    pub(crate) fn reset(&mut self) {
        *self = Self::None;
    }

    /// Handles a received D-H Commit.
    pub(crate) fn receive_dh_commit(
        &mut self,
        version: ProtocolVersion,
        commit: DhCommit,
        ctx: &mut AkeContext<'_>,
    ) -> AkeStep {
        match core::mem::take(self) {
            Self::None | Self::AwaitingSig(_) => self.answer_commit(version, commit, ctx),
            Self::AwaitingDhKey(ours) => {
                // The collision rule: compare the hashes as 32-byte big-endian numbers.
                let ours_higher = commit.hashed_gx.len() == 32
                    && ours.hashed_gx.as_slice() > commit.hashed_gx.as_slice();
                if ours_higher {
                    let resend = MessageBody::DhCommit(ours.commit.clone());
                    *self = Self::AwaitingDhKey(ours);
                    AkeStep::reply(resend)
                } else {
                    self.answer_commit(version, commit, ctx)
                }
            }
            Self::AwaitingRevealSig(mut state) => {
                // Retransmit the same D-H Key; use the new commitment from now on.
                let resend = MessageBody::DhKey(state.dh_key.clone());
                state.their_commit = commit;
                state.version = version;
                *self = Self::AwaitingRevealSig(state);
                AkeStep::reply(resend)
            }
        }
    }

    fn answer_commit(
        &mut self,
        version: ProtocolVersion,
        commit: DhCommit,
        ctx: &mut AkeContext<'_>,
    ) -> AkeStep {
        let our_dh = DhKeyPair::generate(ctx.rng);
        let dh_key = DhKey {
            gy: our_dh.public().as_bytes().to_vec(),
        };
        let reply = MessageBody::DhKey(dh_key.clone());
        *self = Self::AwaitingRevealSig(Box::new(AwaitingRevealSig {
            version,
            our_dh,
            their_commit: commit,
            dh_key,
        }));
        AkeStep::reply(reply)
    }

    /// Handles a received D-H Key.
    pub(crate) fn receive_dh_key(&mut self, dh_key: DhKey, ctx: &mut AkeContext<'_>) -> AkeStep {
        match core::mem::take(self) {
            Self::AwaitingDhKey(state) => {
                let their_dh = match DhPublicKey::from_bytes(&dh_key.gy) {
                    Ok(k) if &k != state.our_dh.public() => k,
                    _ => {
                        *self = Self::AwaitingDhKey(state);
                        return AkeStep::error(AkeError::BadDhValue);
                    }
                };
                let keys = AkeKeys::derive(&state.our_dh.shared_secret(&their_dh));
                let x_block = signature_block(ctx, &keys.m1, state.our_dh.public(), &their_dh);
                let (encrypted_signature, mac) = seal_signature_block(&keys.c, &keys.m2, x_block);
                let reveal = RevealSignature {
                    revealed_key: state.r.to_vec(),
                    encrypted_signature,
                    mac,
                };
                let reply = MessageBody::RevealSignature(reveal.clone());
                *self = Self::AwaitingSig(Box::new(AwaitingSig {
                    version: state.version,
                    our_dh: state.our_dh,
                    their_dh,
                    received_gy: dh_key.gy,
                    keys,
                    reveal,
                }));
                AkeStep::reply(reply)
            }
            Self::AwaitingSig(state) => {
                let step = if state.received_gy == dh_key.gy {
                    AkeStep::reply(MessageBody::RevealSignature(state.reveal.clone()))
                } else {
                    AkeStep::default()
                };
                *self = Self::AwaitingSig(state);
                step
            }
            other @ (Self::None | Self::AwaitingRevealSig(_)) => {
                *self = other;
                AkeStep::default()
            }
        }
    }

    /// Handles a received Reveal Signature.
    pub(crate) fn receive_reveal_signature(
        &mut self,
        reveal: RevealSignature,
        ctx: &mut AkeContext<'_>,
    ) -> AkeStep {
        let state = match core::mem::take(self) {
            Self::AwaitingRevealSig(state) => state,
            other @ (Self::None | Self::AwaitingDhKey(_) | Self::AwaitingSig(_)) => {
                *self = other;
                return AkeStep::default();
            }
        };
        // From here on the exchange ends in None whatever happens (the spec's rule).
        match finish_as_responder(*state, &reveal, ctx) {
            Ok((reply, success)) => AkeStep {
                reply: Some(reply),
                success: Some(success),
                error: None,
            },
            Err(e) => AkeStep::error(e),
        }
    }

    /// Handles a received Signature.
    pub(crate) fn receive_signature(
        &mut self,
        sig: SignatureMessage,
        ctx: &mut AkeContext<'_>,
    ) -> AkeStep {
        let state = match core::mem::take(self) {
            Self::AwaitingSig(state) => state,
            other @ (Self::None | Self::AwaitingDhKey(_) | Self::AwaitingRevealSig(_)) => {
                *self = other;
                return AkeStep::default();
            }
        };
        let keys = &state.keys;
        let opened = open_signature_block(
            &keys.c_prime,
            &keys.m2_prime,
            &keys.m1_prime,
            &sig.encrypted_signature,
            &sig.mac,
            // M_A = MAC_m1'(g^y, g^x, pub_A, keyid_A): their value first.
            &state.their_dh,
            state.our_dh.public(),
            ctx.validated,
        );
        match opened {
            Ok((their_long_term, their_keyid)) => AkeStep {
                reply: None,
                success: Some(AkeSuccess {
                    version: state.version,
                    their_dh: state.their_dh.clone(),
                    our_dh: state.our_dh,
                    their_keyid,
                    their_long_term,
                    ssid: keys.ssid,
                    we_initiated: true,
                }),
                error: None,
            },
            Err(e) => AkeStep::error(e),
        }
    }
}

fn finish_as_responder(
    state: AwaitingRevealSig,
    reveal: &RevealSignature,
    ctx: &mut AkeContext<'_>,
) -> Result<(MessageBody, AkeSuccess), AkeError> {
    // Open the commitment: AES_r(MPI(g^x)) and check SHA256(MPI(g^x)).
    let r: [u8; 16] = reveal
        .revealed_key
        .as_slice()
        .try_into()
        .map_err(|_| AkeError::CommitMismatch)?;
    let r = Zeroizing::new(r);
    let mut gx_mpi = Zeroizing::new(state.their_commit.encrypted_gx.clone());
    aes128_ctr(&r, &[0; 8], &mut gx_mpi);
    if !ct_eq(&sha256(&[&gx_mpi]), &state.their_commit.hashed_gx) {
        return Err(AkeError::CommitMismatch);
    }
    let mut reader = Reader::new(&gx_mpi);
    let gx = reader
        .mpi(crate::wire::encoded::limits::DH_MPI, "g^x")
        .map_err(|_| AkeError::CommitMismatch)?;
    reader.finish().map_err(|_| AkeError::CommitMismatch)?;
    let their_dh = DhPublicKey::from_bytes(gx).map_err(|_| AkeError::BadDhValue)?;
    if &their_dh == state.our_dh.public() {
        return Err(AkeError::BadDhValue);
    }
    let keys = AkeKeys::derive(&state.our_dh.shared_secret(&their_dh));
    // M_B = MAC_m1(g^x, g^y, pub_B, keyid_B): their value first.
    let (their_long_term, their_keyid) = open_signature_block(
        &keys.c,
        &keys.m2,
        &keys.m1,
        &reveal.encrypted_signature,
        &reveal.mac,
        &their_dh,
        state.our_dh.public(),
        ctx.validated,
    )?;
    let x_block = signature_block(ctx, &keys.m1_prime, state.our_dh.public(), &their_dh);
    let (encrypted_signature, mac) = seal_signature_block(&keys.c_prime, &keys.m2_prime, x_block);
    let reply = MessageBody::Signature(SignatureMessage {
        encrypted_signature,
        mac,
    });
    let success = AkeSuccess {
        version: state.version,
        our_dh: state.our_dh,
        their_dh,
        their_keyid,
        their_long_term,
        ssid: keys.ssid,
        we_initiated: false,
    };
    Ok((reply, success))
}

/// Builds X = pub, keyid, sig(MAC_m(our g, their g, pub, keyid)).
fn signature_block(
    ctx: &mut AkeContext<'_>,
    mac_key: &[u8; 32],
    ours: &DhPublicKey,
    theirs: &DhPublicKey,
) -> Zeroizing<Vec<u8>> {
    let mut pub_and_id = Vec::with_capacity(450);
    put_pubkey(&mut pub_and_id, ctx.identity.public());
    put_u32(&mut pub_and_id, AKE_KEYID);
    let m = hmac_sha256(mac_key, &[&mpi_of(ours), &mpi_of(theirs), &pub_and_id]);
    let sig = ctx.identity.sign(&m, ctx.rng);
    let mut x = Zeroizing::new(pub_and_id);
    put_signature(&mut x, &sig);
    x
}

/// Encrypts X with AES-CTR and MACs the DATA encoding of the result with HMAC-SHA256-160.
fn seal_signature_block(
    aes_key: &[u8; 16],
    mac_key: &[u8; 32],
    mut x: Zeroizing<Vec<u8>>,
) -> (Vec<u8>, [u8; 20]) {
    aes128_ctr(aes_key, &[0; 8], &mut x);
    let encrypted = x.to_vec();
    let mut data = Vec::with_capacity(encrypted.len() + 4);
    put_data(&mut data, &encrypted);
    let mac = hmac_sha256_160(mac_key, &[&data]);
    (encrypted, mac)
}

/// Verifies the MAC, decrypts X, parses it and checks the signature over
/// MAC_m1(their g, our g, pub, keyid). Returns their long-term key and key id.
#[allow(clippy::too_many_arguments)]
fn open_signature_block(
    aes_key: &[u8; 16],
    mac_key: &[u8; 32],
    sig_mac_key: &[u8; 32],
    encrypted: &[u8],
    mac: &[u8; 20],
    theirs: &DhPublicKey,
    ours: &DhPublicKey,
    validated: &mut ValidatedKeys,
) -> Result<(DsaPublicKey, u32), AkeError> {
    let mut data = Vec::with_capacity(encrypted.len() + 4);
    put_data(&mut data, encrypted);
    if !ct_eq(&hmac_sha256_160(mac_key, &[&data]), mac) {
        return Err(AkeError::BadMac);
    }
    let mut x = Zeroizing::new(encrypted.to_vec());
    aes128_ctr(aes_key, &[0; 8], &mut x);
    let mut r = Reader::new(&x);
    // Parsed only: the key is validated once its signature verifies, so that nobody can
    // time the validation (and learn whether we know a key) with a key they cannot sign for.
    let their_pub =
        read_pubkey_unvalidated(&mut r).map_err(|_| AkeError::MalformedSignatureBlock)?;
    let keyid = r
        .u32("keyid")
        .map_err(|_| AkeError::MalformedSignatureBlock)?;
    let signed_len = x.len() - r.rest().len();
    let sig = read_signature(&mut r).map_err(|_| AkeError::MalformedSignatureBlock)?;
    r.finish().map_err(|_| AkeError::MalformedSignatureBlock)?;
    // 0 is forbidden, and the data phase counts up from the id: u32::MAX has no successor.
    if keyid == 0 || keyid == u32::MAX {
        return Err(AkeError::BadKeyId);
    }
    let pub_and_id = x
        .get(..signed_len)
        .ok_or(AkeError::MalformedSignatureBlock)?;
    let m = hmac_sha256(sig_mac_key, &[&mpi_of(theirs), &mpi_of(ours), pub_and_id]);
    if !their_pub.verify(&m, &sig) {
        return Err(AkeError::BadSignature);
    }
    validated.validate(&their_pub).map_err(|e| match e {
        CryptoError::WeakDsaKey(defect) => AkeError::WeakPublicKey(defect),
        _ => AkeError::MalformedSignatureBlock,
    })?;
    Ok((their_pub, keyid))
}
