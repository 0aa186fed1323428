"use strict";
// Re-exports @cachet/tier/testing: the conformance kit and the test doubles (MockCache, ManualClock).
module.exports = require("@cachet/tier/testing");
