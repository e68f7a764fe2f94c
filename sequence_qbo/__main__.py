import sys

from sequence_qbo.cli import main

sys.exit(main())
