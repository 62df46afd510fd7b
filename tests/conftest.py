import os

from hypothesis import settings

# The default run is derandomized, so CI cannot fail by chance; `make test-all` explores at random.
settings.register_profile("default", max_examples=25, deadline=None, derandomize=True)
settings.register_profile("long", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
