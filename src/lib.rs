//! Root package: owns tests/ and benches/ (never published).
