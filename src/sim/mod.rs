//! Auth0 Management API simulator (being written).
