# frozen_string_literal: true

module MemprofilerPprof
  class Collector
    # The one place the Collector's defaults are set (the C object applies
    # none of its own). Pure Ruby, so the wrapper can read its settings
    # before the extension loads. The wrapper itself samples every
    # allocation by default.
    DEFAULTS = { sample_rate: 0.01, allocation_retain_rate: 1.0, max_allocation_samples: 10_000,
                 max_heap_samples: 50_000, retain_new_objects: false }.freeze
  end
end
