import ControlPlane
import Foundation

enum ControlPlaneJSON {
    static var decoder: JSONDecoder { HubJSON.decoder() }
}
