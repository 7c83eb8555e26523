from rnnconvert.cli import main

raise SystemExit(main())
