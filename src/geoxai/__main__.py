import sys

from geoxai.cli import main

sys.exit(main())
