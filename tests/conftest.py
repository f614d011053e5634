import sys
from pathlib import Path

# Let tests import helpers such as ``tests/_torch.py`` and ``tests/twins.py``.
sys.path.insert(0, str(Path(__file__).parent))
