//! PodFactory ↔ employee matching (being written).
