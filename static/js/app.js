// Page-wide behaviour. No inline scripts anywhere (strict CSP): everything lives in files like this one.
"use strict";
