//! The `settings!` macro and what it makes of each declared setting: a typed field of
//! `Settings`, its parsing from the merged source (errors name the setting), its name in
//! `SETTINGS`, and its row in `REFERENCE`, which the documentation is checked against.

/// One setting as the reference shows it: name, default and one line on what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettingDoc {
    /// The environment variable; a profile key is the same name in lowercase.
    pub name: &'static str,
    /// The text used when the setting is unset, written as one would set it; empty when
    /// unset means nothing (no value, an empty list, no secret).
    pub default: &'static str,
    /// How the reference shows the default when not as the default itself (a secret's
    /// public development value, for instance).
    pub shown: Option<&'static str>,
    /// What the setting does, in one line.
    pub doc: &'static str,
}

impl SettingDoc {
    /// The "Default" column of docs/CONFIGURATION.md: `shown`, else the default in
    /// backticks, else `unset`.
    pub fn default_column(&self) -> String {
        match (self.shown, self.default) {
            (Some(shown), _) => shown.to_owned(),
            (None, "") => "unset".to_owned(),
            (None, default) => format!("`{default}`"),
        }
    }
}

/// Declares every setting once. Each entry is a one-line doc comment, then
/// `NAME: Type = "default"` (the default as it would be written in the environment; omit
/// it when unset means none, for `Option<_>`, `Secret` or a list), then optionally
/// `, shown "..."` (the reference's default column when not the default itself) and
/// `, parse path::to_fn` (a `fn(&str) -> Result<Type, String>` instead of `Value::parse`).
/// Generates `Settings` (one field per entry, named as the variable) with
/// `Settings::load`, `SETTINGS` and `REFERENCE`, all in declaration order.
macro_rules! settings {
    (@default) => { "" };
    (@default $default:expr) => { $default };
    (@shown) => { None };
    (@shown $shown:literal) => { Some($shown) };
    (@parse $ty:ty) => { <$ty as $crate::config::value::Value>::parse };
    (@parse $ty:ty, $parse:path) => { $parse };
    (
        $(
            #[doc = $doc:literal]
            $name:ident : $ty:ty $(= $default:expr)? $(, shown $shown:literal)? $(, parse $parse:path)? ;
        )*
    ) => {
        /// Every setting, parsed: one field per declared setting, named as its variable.
        #[allow(non_snake_case)]
        pub(super) struct Settings {
            $(
                #[doc = $doc]
                pub(super) $name: $ty,
            )*
        }

        impl Settings {
            /// Parses every setting from `source`; an unset one takes its default. An invalid
            /// value is `ConfigError::Invalid`, naming the setting.
            pub(super) fn load(
                source: &$crate::config::source::Source,
            ) -> Result<Self, $crate::config::ConfigError> {
                Ok(Self {
                    $(
                        $name: source.parse(
                            stringify!($name),
                            $crate::config::declare::settings!(@default $($default)?),
                            $crate::config::declare::settings!(@parse $ty $(, $parse)?),
                        )?,
                    )*
                })
            }
        }

        /// Every setting's name, in declaration order. A profile may use them in lowercase.
        pub const SETTINGS: &[&str] = &[$(stringify!($name)),*];

        /// Every setting's name, default and meaning, in declaration order:
        /// docs/CONFIGURATION.md and `.env.example` are checked against it.
        pub const REFERENCE: &[$crate::config::SettingDoc] = &[$(
            $crate::config::SettingDoc {
                name: stringify!($name),
                default: $crate::config::declare::settings!(@default $($default)?),
                shown: $crate::config::declare::settings!(@shown $($shown)?),
                doc: $doc.trim_ascii(),
            }
        ),*];
    };
}
pub(super) use settings;
