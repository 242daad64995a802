//! The secure session id of a private session.

/// The secure session id (Protocol-v3.html, "ssid") of a private session: 8 bytes both
/// sides derive from the key exchange. Users who read it to each other over another channel
/// (the side that started the exchange reads the first half, the other the second) detect
/// a man in the middle without comparing fingerprints. It identifies the session and is
/// not secret. libotr's clients show it as two groups of 8 hex digits, the half the local
/// user reads in bold (`OTRL_SESSIONID_FIRST_HALF_BOLD`); [`core::fmt::Display`] writes the
/// digits, [`SessionId::bold_half`] says which half to emphasise.
///
/// ```
/// use otr::{SessionId, SessionIdHalf};
/// let id = SessionId::new([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef], SessionIdHalf::First);
/// assert_eq!(id.to_string(), "01234567 89abcdef");
/// assert_eq!(id.bold_half(), SessionIdHalf::First);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId {
    bytes: [u8; 8],
    bold: SessionIdHalf,
}

/// One half of a [`SessionId`]: the one the local user reads aloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionIdHalf {
    /// The first four bytes: we started the key exchange (sent the Reveal Signature).
    First,
    /// The last four bytes: the peer started it.
    Second,
}

impl SessionId {
    /// A session id of `bytes`, of which the local user reads `bold`.
    pub fn new(bytes: [u8; 8], bold: SessionIdHalf) -> Self {
        Self { bytes, bold }
    }

    /// The 8 bytes.
    pub fn bytes(&self) -> [u8; 8] {
        self.bytes
    }

    /// The half the local user reads aloud (libotr's clients show it in bold).
    pub fn bold_half(&self) -> SessionIdHalf {
        self.bold
    }
}

impl core::fmt::Display for SessionId {
    /// Two groups of 8 lowercase hex digits separated by a space, as libotr's clients show
    /// it (`01234567 89abcdef`).
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (first, second) = self.bytes.split_at(4);
        for b in first {
            write!(f, "{b:02x}")?;
        }
        f.write_str(" ")?;
        for b in second {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
