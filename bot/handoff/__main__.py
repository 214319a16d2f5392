import sys

from bot.handoff.backoffice import main

sys.exit(main())
