/// Numerics used by name (RFC 1459/2812 and the IRCv3 registry).
enum IRCNumeric {
    static let welcome = "001", yourHost = "002", created = "003", myInfo = "004", isupport = "005"
    static let topic = "332", noTopic = "331", namesReply = "353", endOfNames = "366"
    static let motdStart = "375", motd = "372", endOfMotd = "376"
    static let noSuchNick = "401", noSuchChannel = "403", cannotSendToChannel = "404", noRecipient = "411", noTextToSend = "412"
    static let inputTooLong = "417", unknownCommand = "421", noNicknameGiven = "431", erroneousNickname = "432", nicknameInUse = "433"
    static let noOrigin = "409"
    static let notOnChannel = "442", notRegistered = "451", needMoreParams = "461", alreadyRegistered = "462", passwordMismatch = "464"
    static let channelModeIs = "324", banList = "367", endOfBanList = "368", userModeIs = "221", unknownMode = "472", usersDontMatch = "502"
    static let whoReply = "352", endOfWho = "315", chanOpPrivsNeeded = "482", userNotInChannel = "441", inviting = "341"
    static let listStart = "321", list = "322", listEnd = "323", wasNoSuchNick = "406", endOfWhowas = "369"
    static let whoisUser = "311", whoisServer = "312", whoisOperator = "313", endOfWhois = "318", whoisAccount = "330", away = "301"
    static let isOn = "303", userHost = "302", luserClient = "251", luserMe = "255", version = "351", time = "391"
    static let info = "371", endOfInfo = "374", nowAway = "306", unAway = "305"
    static let youreOper = "381", noOperHost = "491"
    static let loggedIn = "900", saslSuccess = "903", saslFailed = "904", saslAborted = "906", saslAlready = "907", saslMechanisms = "908"
    static let youAreBanned = "465", inviteOnlyChannel = "473", bannedFromChannel = "474", badChannelName = "479", cannotChangeNick = "447"
}
