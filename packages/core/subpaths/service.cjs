"use strict";
// Re-exports @cachet/service (an optional peer dependency: install it to use this subpath).
module.exports = require("@cachet/service");
