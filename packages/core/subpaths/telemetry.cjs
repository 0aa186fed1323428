"use strict";
// Re-exports @cachet/telemetry (an optional peer dependency: install it to use this subpath).
module.exports = require("@cachet/telemetry");
