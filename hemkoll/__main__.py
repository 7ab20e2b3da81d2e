import sys

from hemkoll.cli import main

sys.exit(main())
