//! Policies: libotr's seven flags, with libotr's values and presets
//! (Protocol-v3.html, "Policies"; libotr's `proto.h`).

/// A set of policy flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Policy(pub u32);

impl Policy {
    /// Allow version 1 (never honoured: version 1 is obsolete and insecure).
    pub const ALLOW_V1: u32 = 0x01;
    /// Allow version 2.
    pub const ALLOW_V2: u32 = 0x02;
    /// Allow version 3.
    pub const ALLOW_V3: u32 = 0x04;
    /// Refuse to send unencrypted messages.
    pub const REQUIRE_ENCRYPTION: u32 = 0x08;
    /// Advertise OTR with the whitespace tag.
    pub const SEND_WHITESPACE_TAG: u32 = 0x10;
    /// Start the AKE on receiving a whitespace tag.
    pub const WHITESPACE_START_AKE: u32 = 0x20;
    /// Start the AKE on receiving an OTR Error message.
    pub const ERROR_START_AKE: u32 = 0x40;

    /// OTR disabled.
    pub const NEVER: Self = Self(0);
    /// libotr's OTRL_POLICY_MANUAL: versions 2 and 3, started only on request.
    pub const MANUAL: Self = Self(Self::ALLOW_V2 | Self::ALLOW_V3);
    /// libotr's OTRL_POLICY_OPPORTUNISTIC (its default).
    pub const OPPORTUNISTIC: Self = Self(
        Self::ALLOW_V2
            | Self::ALLOW_V3
            | Self::SEND_WHITESPACE_TAG
            | Self::WHITESPACE_START_AKE
            | Self::ERROR_START_AKE,
    );
    /// libotr's OTRL_POLICY_ALWAYS: encryption required.
    pub const ALWAYS: Self = Self(
        Self::ALLOW_V2
            | Self::ALLOW_V3
            | Self::REQUIRE_ENCRYPTION
            | Self::WHITESPACE_START_AKE
            | Self::ERROR_START_AKE,
    );

    /// True if every bit of `flag` is set.
    pub fn has(self, flag: u32) -> bool {
        self.0 & flag == flag
    }

    /// True if any protocol version we implement is allowed.
    pub fn otr_enabled(self) -> bool {
        self.has(Self::ALLOW_V2) || self.has(Self::ALLOW_V3)
    }

    /// Parses a preset name: `never`, `manual`, `opportunistic`, `always`.
    pub fn from_preset(name: &str) -> Option<Self> {
        match name {
            "never" => Some(Self::NEVER),
            "manual" => Some(Self::MANUAL),
            "opportunistic" => Some(Self::OPPORTUNISTIC),
            "always" => Some(Self::ALWAYS),
            _ => None,
        }
    }
}

impl Default for Policy {
    fn default() -> Self {
        Self::OPPORTUNISTIC
    }
}
