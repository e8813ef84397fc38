//! google.api.http path templates: parse, expand (client), match (server).
