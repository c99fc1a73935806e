# frozen_string_literal: true

module MemprofilerPprof
  # Callables run (in order) in a new child process, by after_fork_child!
  # below; defined here so the pure-Ruby parts load, and register
  # themselves, without the C extension.
  unless respond_to?(:after_fork_child_hooks)
    @after_fork_child_hooks = []

    # @api private
    # @return [Array<#call>] the callables run in a new child process, in order
    def self.after_fork_child_hooks
      @after_fork_child_hooks
    end
  end

  # Runs in every new child process: the running collector reseeds its
  # sampler (when the C extension is loaded), then each hook runs; a hook
  # that raises is reported and does not stop the others.
  # @api private
  # @return [void]
  def self.after_fork_child!
    Collector._after_fork_child if defined?(Collector) && Collector.respond_to?(:_after_fork_child)
    after_fork_child_hooks.each do |hook|
      hook.call
    rescue StandardError => e
      warn "ruby_memprofiler_pprof: after-fork hook failed: #{e.class}: #{e.message}"
    end
  end

  # Every fork path (fork, Process.fork, IO.popen("-")) goes through
  # Process._fork, from Ruby 3.1.
  # @api private
  module ForkHook
    # Process._fork, then {MemprofilerPprof.after_fork_child!} in the child.
    # @return [Integer] the child's pid in the parent, 0 in the child
    def _fork
      pid = super
      MemprofilerPprof.after_fork_child! if pid.zero?
      pid
    end
  end

  # Process.daemon forks in C without going through Process._fork (checked
  # on Ruby 3.1.2), so a daemonised app would lose its flusher thread. Hooks
  # must therefore tolerate running twice in one child.
  # @api private
  module DaemonHook
    # Process.daemon, then {MemprofilerPprof.after_fork_child!} in the daemon.
    # @return [0]
    def daemon(*args)
      result = super
      MemprofilerPprof.after_fork_child!
      result
    end
  end
  Process.singleton_class.prepend(ForkHook) if Process.respond_to?(:_fork) && !(Process.singleton_class < ForkHook)
  Process.singleton_class.prepend(DaemonHook) unless Process.singleton_class < DaemonHook
end
