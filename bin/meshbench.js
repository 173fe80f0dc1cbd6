#!/usr/bin/env node
// The installed command: a fixed file (so npm can link it before the build has run) that loads the
// compiled CLI. `npm ci` builds dist/ through the `prepare` script.
import '../dist/cli/main.js';
