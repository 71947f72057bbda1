import sys

from emoprobe.cli import main

sys.exit(main())
