//! The documentation agrees with the declaration in `settings`: docs/CONFIGURATION.md has
//! one row per setting, in declaration order, with its name and default column exactly, and
//! `.env.example` one line per setting, in the same order, set to its default or left empty.

use super::{CONFIG_DIR, REFERENCE, SETTINGS, SettingDoc};

/// The declared settings and then `GODRIVE_CONFIG_DIR`, as the reference lists them.
fn documented() -> Vec<&'static SettingDoc> {
    REFERENCE.iter().chain([&CONFIG_DIR]).collect()
}

/// A row as docs/CONFIGURATION.md should have it (its "Meaning" may say more).
fn row(s: &SettingDoc) -> String {
    format!("| `{}` | {} | {} |", s.name, s.default_column(), s.doc)
}

#[test]
fn the_reference_table_lists_every_setting_and_default_in_order() {
    let text = include_str!("../../docs/CONFIGURATION.md");
    let rows: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let mut cells = l.split('|').skip(1).map(str::trim);
            let name = cells.next().unwrap_or_default().trim_matches('`');
            (name, cells.next().unwrap_or_default())
        })
        .collect();
    let expected = documented();
    for (i, s) in expected.iter().enumerate() {
        let Some(&(name, default)) = rows.get(i) else {
            panic!("docs/CONFIGURATION.md: row {} missing, expected\n{}", i + 1, row(s));
        };
        assert_eq!(
            (name, default),
            (s.name, s.default_column().as_str()),
            "docs/CONFIGURATION.md row {}: expected\n{}",
            i + 1,
            row(s)
        );
    }
    assert_eq!(
        rows.len(),
        expected.len(),
        "docs/CONFIGURATION.md has rows for undeclared settings: {:?}",
        &rows[expected.len().min(rows.len())..]
    );
}

#[test]
fn the_env_template_sets_every_setting_to_its_default_in_order() {
    let text = include_str!("../../.env.example");
    let lines: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .collect();
    for (i, s) in REFERENCE.iter().enumerate() {
        let expected = format!("{}={}", s.name, s.default);
        let Some(&(name, value)) = lines.get(i) else {
            panic!(".env.example: setting {} missing, expected {expected}", i + 1);
        };
        assert_eq!(name, s.name, ".env.example setting {}: expected {expected}", i + 1);
        // Empty means unset, so the default applies; a secret's development value is left out.
        assert!(
            value.is_empty() || value == s.default,
            ".env.example: {name}={value}, but its default is {:?}",
            s.default
        );
    }
    // What follows is for docker compose only: none of it may be a setting.
    for (name, _) in &lines[REFERENCE.len()..] {
        assert!(
            !SETTINGS.contains(name) && *name != CONFIG_DIR.name,
            ".env.example: {name} again, or out of order"
        );
    }
}

#[test]
fn the_declaration_holds_each_name_once_with_one_line_of_meaning() {
    let all = documented();
    for (i, s) in all.iter().enumerate() {
        assert!(all[..i].iter().all(|t| t.name != s.name), "{} declared twice", s.name);
        assert!(
            s.name
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
            "{}",
            s.name
        );
        assert!(!s.doc.is_empty() && !s.doc.contains('\n'), "{}: {:?}", s.name, s.doc);
    }
    assert_eq!(SETTINGS, REFERENCE.iter().map(|s| s.name).collect::<Vec<_>>());
    assert_eq!(super::settings::default_environment(), "development");
}
