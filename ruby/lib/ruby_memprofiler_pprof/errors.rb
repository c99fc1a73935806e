# frozen_string_literal: true

module MemprofilerPprof
  # The base class of the errors the gem raises for its own failures: a
  # second collector started while one runs, a profile that could not be
  # encoded, an invalid wrapper setting ({ProfileApp::ConfigError}). Invalid
  # arguments raise ArgumentError, as in Ruby itself, and a missing C
  # extension raises LoadError.
  #
  # The C extension defines the same class when it loads, so this file and
  # the extension may be loaded in either order.
  class Error < StandardError; end
end
