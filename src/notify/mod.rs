//! On-call notification (being written).
