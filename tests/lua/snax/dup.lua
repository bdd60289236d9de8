-- Declaration error: a method declared twice in one group.
function response.twice() end
function response.twice() end
