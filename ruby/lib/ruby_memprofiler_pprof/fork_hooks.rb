# frozen_string_literal: true

module MemprofilerPprof
  # Callables run (in order) in a new child process. The C extension's
  # Process._fork hook (collector.rb) runs them after every fork; defined here
  # so the pure-Ruby parts load, and register themselves, without it.
  unless respond_to?(:after_fork_child_hooks)
    @after_fork_child_hooks = []

    def self.after_fork_child_hooks
      @after_fork_child_hooks
    end
  end

  # Process.daemon forks in C without going through Process._fork (checked
  # on Ruby 3.1.2), so a daemonised app would lose its flusher thread. Hooks
  # must therefore tolerate running twice in one child.
  module DaemonHook
    def daemon(*args)
      result = super
      MemprofilerPprof.after_fork_child_hooks.each do |hook|
        hook.call
      rescue StandardError => e
        warn "ruby_memprofiler_pprof: after-fork hook failed: #{e.class}: #{e.message}"
      end
      result
    end
  end
  Process.singleton_class.prepend(DaemonHook) unless Process.singleton_class < DaemonHook
end
