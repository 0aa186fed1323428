"use strict";
// Re-exports @cachet/redis (an optional peer dependency: install it to use this subpath).
module.exports = require("@cachet/redis");
