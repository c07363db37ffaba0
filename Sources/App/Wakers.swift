import API
import Reconcile
import Services
import Sync

/// After an accepted write (apply, claim, delete): this replica's reconciler ticks now, the leader
/// elsewhere hears `NOTIFY convos_reconcile`, and this replica's watches read the change log now.
struct WriteWaker: Waker {
    let reconciler: Reconciler
    let notifier: Notifier
    let watches: KubeWatches

    func wake() {
        reconciler.wake()
        notifier.poke()
        watches.poke()
    }
}

/// A hand-over reached a runtime: the reconciler (whose wake-up this is) ticks now, so the agent
/// turns Ready at once rather than at the next interval.
struct WakeOnDelivery: DeliveryListener {
    let wakeup: Wakeup

    func delivered(instance: String) { Task { await wakeup.fire() } }
}
