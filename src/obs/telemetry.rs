//! Tracing subscriber: `GODRIVE_LOG_LEVEL` and `GODRIVE_LOG_FORMAT` (pretty or json).

use tracing_subscriber::EnvFilter;

/// Crates that log request headers (signatures included) at debug level. They stay at
/// `info` when a plain verbose level is asked for; name them explicitly to override.
const NOISY: &[&str] = &[
    "s3s",
    "hyper",
    "h2",
    "aws_smithy_runtime",
    "aws_sigv4",
    "aws_smithy_http_client",
];

/// The filter for a configured level.
pub fn filter_for(level: &str) -> String {
    let lower = level.to_ascii_lowercase();
    if matches!(lower.as_str(), "debug" | "trace") {
        let caps: Vec<String> = NOISY.iter().map(|c| format!("{c}=info")).collect();
        format!("{level},{},sqlx=warn", caps.join(","))
    } else if matches!(lower.as_str(), "info" | "warn" | "error") {
        // sqlx reports harmless notices ("relation already exists") at info, and s3s logs
        // every 4xx answer at error level; GoDrive's own request log records each status.
        format!("{level},sqlx=warn,s3s=off")
    } else {
        level.to_owned()
    }
}

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(level: &str, format: &str) {
    let filter = EnvFilter::try_new(filter_for(level)).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbose_levels_keep_header_loggers_quiet() {
        let f = filter_for("debug");
        assert!(f.starts_with("debug,"));
        assert!(f.contains("s3s=info"));
        assert_eq!(filter_for("warn"), "warn,sqlx=warn,s3s=off");
        assert_eq!(filter_for("godrive=trace"), "godrive=trace");
    }
}
