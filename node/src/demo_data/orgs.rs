//! The consortium's organisations, where they meet, and the library's
//! shared vocabulary of themes and target groups (English labels, as the
//! filters use them).

/// A member organisation.
pub(super) struct Org {
    /// Short key, as in the roster.
    pub key: &'static str,
    pub name: &'static str,
    /// ISO 3166 alpha-2 (XK for Kosovo).
    pub country: &'static str,
    /// Working language (ISO 639-1).
    pub language: &'static str,
    /// Cities where its in-person sessions take place, with their IANA
    /// zone; the first is its home.
    pub cities: &'static [(&'static str, &'static str)],
}

impl Org {
    pub fn zone(&self) -> &'static str {
        self.cities[0].1
    }
}

pub(super) const ORGS: [Org; 8] = [
    Org {
        key: "lmds",
        name: "Les Militants des Savoirs",
        country: "FR",
        language: "fr",
        cities: &[
            ("Paris", "Europe/Paris"),
            ("Lyon", "Europe/Paris"),
            ("Marseille", "Europe/Paris"),
            ("Lille", "Europe/Paris"),
        ],
    },
    Org {
        key: "ips",
        name: "IPS Innovative Prison Systems",
        country: "PT",
        language: "pt",
        cities: &[
            ("Lisboa", "Europe/Lisbon"),
            ("Porto", "Europe/Lisbon"),
            ("Coimbra", "Europe/Lisbon"),
            ("Ponta Delgada", "Atlantic/Azores"),
            ("Funchal", "Atlantic/Madeira"),
        ],
    },
    Org {
        key: "act",
        name: "Associazione Carcere e Territorio",
        country: "IT",
        language: "it",
        cities: &[
            ("Bergamo", "Europe/Rome"),
            ("Milano", "Europe/Rome"),
            ("Roma", "Europe/Rome"),
            ("Torino", "Europe/Rome"),
        ],
    },
    Org {
        key: "pkc",
        name: "Partners Kosova Center for Conflict Management",
        country: "XK",
        language: "sq",
        cities: &[
            ("Prishtinë", "Europe/Belgrade"),
            ("Prizren", "Europe/Belgrade"),
            ("Pejë", "Europe/Belgrade"),
            ("Mitrovicë", "Europe/Belgrade"),
        ],
    },
    Org {
        key: "ahc",
        name: "Albanian Helsinki Committee",
        country: "AL",
        language: "sq",
        cities: &[
            ("Tiranë", "Europe/Tirane"),
            ("Durrës", "Europe/Tirane"),
            ("Shkodër", "Europe/Tirane"),
            ("Elbasan", "Europe/Tirane"),
        ],
    },
    Org {
        key: "transform",
        name: "Transform",
        country: "SE",
        language: "sv",
        cities: &[
            ("Stockholm", "Europe/Stockholm"),
            ("Göteborg", "Europe/Stockholm"),
            ("Malmö", "Europe/Stockholm"),
            ("Uppsala", "Europe/Stockholm"),
        ],
    },
    Org {
        key: "iga",
        name: "Crime Prevention Fund IGA",
        country: "BG",
        language: "bg",
        cities: &[
            ("София", "Europe/Sofia"),
            ("Пловдив", "Europe/Sofia"),
            ("Варна", "Europe/Sofia"),
            ("Бургас", "Europe/Sofia"),
        ],
    },
    Org {
        key: "united",
        name: "United for Intercultural Action",
        country: "HU",
        language: "hu",
        cities: &[
            ("Budapest", "Europe/Budapest"),
            ("Debrecen", "Europe/Budapest"),
            ("Pécs", "Europe/Budapest"),
            ("Szeged", "Europe/Budapest"),
        ],
    },
];

pub(super) const THEMES: [&str; 13] = [
    "post-release support",
    "risk screening",
    "family involvement",
    "mentoring",
    "community resilience",
    "exit work",
    "prison-based intervention",
    "online radicalisation",
    "gender-specific approaches",
    "youth work",
    "multi-agency cooperation",
    "training of practitioners",
    "evaluation",
];

pub(super) const TARGET_GROUPS: [&str; 9] = [
    "released offenders",
    "VETOs",
    "families",
    "youth at risk",
    "prison staff",
    "probation officers",
    "NGO practitioners",
    "community leaders",
    "teachers",
];

/// Mailboxes an organisation gives as a practice's contact.
pub(super) const MAILBOXES: [&str; 5] = ["contact", "library", "training", "mentoring", "team"];
