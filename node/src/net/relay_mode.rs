//! `[net] relay` in config.toml: when this node relays for members (see
//! [`super::relay`]).

/// When this node relays for members (`[net] relay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RelayMode {
    /// Once AutoNAT confirmed a public address of this node.
    #[default]
    Auto,
    On,
    Off,
}

impl std::str::FromStr for RelayMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(RelayMode::Auto),
            "on" => Ok(RelayMode::On),
            "off" => Ok(RelayMode::Off),
            _ => Err(format!("{s:?} is not auto, on or off")),
        }
    }
}

impl std::fmt::Display for RelayMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RelayMode::Auto => "auto",
            RelayMode::On => "on",
            RelayMode::Off => "off",
        })
    }
}
